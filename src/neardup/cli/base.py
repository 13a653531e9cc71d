"""The command group and the options and helpers its commands share."""

from __future__ import annotations

from typing import Any

import click
import orjson

from neardup import __version__


def emit_json(obj: Any) -> None:
    click.echo(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode())


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="neardup")
def cli() -> None:
    """Find, explain and remove exact and near-duplicate documents in text corpora.

    Exit codes: 0 done, 2 bad parameters, 3 bad input, 4 output problem (full disk, read-only or
    locked output folder), 130 interrupted, 1 internal error (a bug; --debug shows where)."""


def fingerprint_options(fn: Any) -> Any:
    """Options that fix how documents are fingerprinted and matched (dedup, explain, index)."""
    options = [
        click.option(
            "--threshold",
            type=float,
            help="Jaccard similarity of near-duplicates (a cosine with --method semantic).  "
            "[default: 0.8; 0.95 with --method semantic]",
        ),
        click.option("--num-perm", type=int, help="MinHash permutations.  [default: 128]"),
        click.option("--ngram", type=int, help="Words per shingle.  [default: 5]"),
        click.option(
            "--char-ngram",
            type=int,
            help="Characters per shingle (scripts without spaces).  [default: 5]",
        ),
        click.option(
            "--shingle",
            type=click.Choice(["auto", "word", "char"]),
            help="Word or character shingles; auto picks characters for Chinese, Japanese, Thai…",
        ),
        click.option("--seed", type=int, help="Seed of the MinHash permutations.  [default: 42]"),
        click.option("--bands", type=int, help="LSH bands (with --rows; default: chosen)."),
        click.option("--rows", type=int, help="LSH rows per band (with --bands)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def boilerplate_options(fn: Any) -> Any:
    """Options shared by ``dedup --strip-boilerplate`` and ``boilerplate``."""
    options = [
        click.option(
            "--boilerplate-mode",
            type=click.Choice(["strip", "mark"]),
            help="strip: remove the lines from kept text (default); mark: keep the text and list "
            "the line numbers in a 'boilerplate_lines' field.",
        ),
        click.option(
            "--boilerplate-min-docs",
            type=int,
            help="Distinct documents (copies of one article count once) a line must stand in to "
            "be boilerplate.  [default: 10]",
        ),
        click.option(
            "--boilerplate-long-words",
            type=int,
            help="Lines longer than this many words need more clusters.  [default: 40]",
        ),
        click.option(
            "--boilerplate-long-min-docs",
            type=int,
            help="Distinct documents a long line must stand in.  [default: 5 × min-docs]",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def spark_options(executor_help: str) -> Any:
    """``--executor``, ``--spark-master``, ``--partitions`` and ``--spark-conf`` (dedup,
    passages); :func:`executor_from` turns them into the executor a library call takes."""

    def decorate(fn: Any) -> Any:
        options = [
            click.option(
                "--executor",
                type=click.Choice(["local", "spark"]),
                default="local",
                show_default=True,
                help=executor_help,
            ),
            click.option(
                "--spark-master",
                metavar="URL",
                help="Spark master (local[4], spark://host:7077, yarn).  [default: the "
                "spark-submit session, else local[*]]",
            ),
            click.option(
                "--partitions", type=int, help="Spark shuffle partitions.  [default: Spark's]"
            ),
            click.option(
                "--spark-conf",
                multiple=True,
                metavar="KEY=VALUE",
                help="Extra Spark setting (repeatable), e.g. spark.executor.memory=8g.",
            ),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def executor_from(
    executor: str, master: str | None, partitions: int | None, conf: tuple[str, ...]
) -> Any:
    """``"local"``, or a :class:`~neardup.executors.spark.SparkExecutor` built from the Spark
    options; the Spark options without ``--executor spark`` are a usage error."""
    if executor != "spark":
        if master or partitions or conf:
            raise click.UsageError(
                "--spark-master, --partitions and --spark-conf need --executor spark"
            )
        return executor
    from neardup.executors.spark import SparkExecutor

    settings = {}
    for item in conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{item}' is not KEY=VALUE", param_hint="--spark-conf")
        settings[key.strip()] = value.strip()
    if partitions is not None and partitions < 1:
        raise click.BadParameter("must be at least 1", param_hint="--partitions")
    return SparkExecutor(master, partitions=partitions, conf=settings)
