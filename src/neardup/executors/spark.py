"""The Spark executor: neardup's stage functions scheduled on Apache Spark.

This is the only module that imports pyspark, and only when a :class:`SparkExecutor` is entered.
It offers the primitives a distributed plan needs and nothing else:

* ``map`` — a stage function over each partition, as Arrow batches (``mapInArrow``);
* ``group`` — ``repartition(n, keys)`` then ``sortWithinPartitions`` then a stage function, so
  each group (a band bucket, a cluster) arrives whole and sorted in one call;
* ``checkpoint`` — a table written to Parquet under the work folder and read back (cuts the
  lineage, so a retried task never recomputes earlier stages);
* ``components`` — connected components of an edge table: collected and solved by union-find
  on the driver under a size bound, else by alternating large-star / small-star rounds on
  DataFrames (Kiveris et al., *Connected Components in MapReduce and Beyond*, SoCC 2014);
* ``dense_index`` — ranks 0, 1, 2, … of a sorted column (range partitioning + per-partition
  counts);
* file-system moves through Hadoop's ``FileSystem`` (local disks, HDFS, S3 via ``s3a://``, …).

DataFrame API only: no RDD lambdas and no GraphFrames (which fetches jars at start-up).
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from neardup.cluster import union_find
from neardup.errors import DependencyError, OutputError
from neardup.stages import index_partition, spark_ddl

#: edges up to this many are collected and solved by union-find on the driver (16 B per edge)
COLLECT_EDGES = 20_000_000


def java_version() -> int | None:
    """The major version of the ``java`` on ``JAVA_HOME`` or ``PATH``, or None if none."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _require_spark() -> Any:
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise DependencyError(
            "the Spark executor needs pyspark",
            remedy="pip install 'neardup[spark]' (it also needs a Java 17+ runtime)",
        ) from exc
    return SparkSession


class SparkExecutor:
    """Runs neardup's stages on a Spark session.

    ``master``: a Spark master URL (``local[4]``, ``spark://host:7077``, ``yarn``) for a new
    session; None means ``spark-submit``'s setting or ``local[*]``. A session already active in
    the process (spark-submit, a notebook) is always used and left running. ``partitions``:
    shuffle partitions of every grouping shuffle, fixed (default: Spark's
    ``spark.sql.shuffle.partitions``, which adaptive query execution, on by default, coalesces
    into partitions of a useful size; stages see whole groups either way). ``conf``: extra
    Spark settings. ``session``: use this SparkSession instead of starting one (it is left
    running). ``collect_edges``: largest edge table solved on the driver. ``split_bytes``:
    largest input split while the inputs are read (Spark's ``spark.sql.files.maxPartitionBytes``,
    128 MB by default; smaller splits mean more, shorter fingerprint tasks).
    """

    engine = "spark"

    def __init__(
        self,
        master: str | None = None,
        *,
        partitions: int | None = None,
        conf: dict[str, str] | None = None,
        session: Any = None,
        collect_edges: int = COLLECT_EDGES,
        split_bytes: int | None = None,
        app_name: str = "neardup",
    ) -> None:
        self.master = master
        self.partitions = partitions
        self.fixed_partitions = partitions is not None
        self.conf = dict(conf or {})
        self.spark = session
        self._owned = False
        self.collect_edges = collect_edges
        self.split_bytes = split_bytes
        self.app_name = app_name
        self.work: str | None = None
        self._shuffle_before = "200"

    # -- session ------------------------------------------------------------------------------
    def __enter__(self) -> SparkExecutor:
        session_cls = _require_spark()
        if self.spark is None:
            active = _active_session(session_cls)
            if active is not None:  # inside spark-submit or a notebook: use it, leave it running
                self.spark = active
            else:
                major = java_version()
                if major is None or major < 17:
                    found = "no Java runtime" if major is None else f"Java {major}"
                    raise DependencyError(
                        f"Spark needs a Java 17+ runtime; found {found}",
                        remedy="install one (Debian/Ubuntu: apt-get install "
                        "openjdk-17-jre-headless) or point JAVA_HOME at it",
                    )
                builder = session_cls.builder.appName(self.app_name)
                master = session_master(self.master, os.environ)
                if master is not None:
                    builder = builder.master(master)
                settings = {
                    "spark.ui.enabled": "false",
                    "spark.ui.showConsoleProgress": "false",
                    "spark.sql.execution.arrow.maxRecordsPerBatch": "2048",
                    # the throughput collector: ~15% fewer CPU-seconds than G1 on a local
                    # session (100k documents, 2 cores); no pause-time goal is needed here
                    "spark.driver.extraJavaOptions": "-XX:+UseParallelGC",
                    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
                    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
                    **(local_driver_address(master, self.conf, os.environ) if master else {}),
                    **self.conf,
                }
                if (self.master or "local").startswith("local"):
                    # local workers run this interpreter, the one that has neardup installed
                    # (PySpark reads the variable when the context starts)
                    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
                for key, value in settings.items():
                    builder = builder.config(key, value)
                self.spark = builder.getOrCreate()
                self.spark.sparkContext.setLogLevel("ERROR")
                self._owned = True
        key = "spark.sql.shuffle.partitions"
        self._shuffle_before = self.spark.conf.get(key)
        if self.partitions is None:
            self.partitions = int(self._shuffle_before)
        else:
            self.spark.conf.set(key, str(self.partitions))
        return self

    def __exit__(self, *_: Any) -> None:
        if not self._owned and self.spark is not None:  # leave a borrowed session as it was
            self.spark.conf.set("spark.sql.shuffle.partitions", self._shuffle_before)
        if self._owned and self.spark is not None:
            self.spark.stop()
            self.spark = None
            self._owned = False

    # -- file system (Hadoop FileSystem, whatever the scheme) ------------------------------------
    def _path(self, uri: str) -> tuple[Any, Any]:
        jvm = self.spark.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        return fs, path

    def qualify(self, uri: str) -> str:
        fs, path = self._path(uri)
        return str(fs.makeQualified(path).toString())

    def exists(self, uri: str) -> bool:
        fs, path = self._path(uri)
        return bool(fs.exists(path))

    def delete(self, uri: str) -> None:
        fs, path = self._path(uri)
        if fs.exists(path):
            fs.delete(path, True)

    def rename(self, src: str, dst: str) -> None:
        fs, path = self._path(src)
        _, target = self._path(dst)
        if not fs.rename(path, target):
            raise OutputError(f"cannot move {src} to {dst}", remedy="check the output location")

    def list(self, uri: str) -> list[str]:
        fs, path = self._path(uri)
        return sorted(str(s.getPath().getName()) for s in fs.listStatus(path))

    def write_bytes(self, uri: str, data: bytes) -> None:
        fs, path = self._path(uri)
        out = fs.create(path, True)
        try:
            out.write(bytearray(data))
        finally:
            out.close()

    def start_work(self, uri: str) -> str:
        """A fresh work folder for this run's intermediate tables."""
        self.work = f"{uri.rstrip('/')}/{uuid.uuid4().hex[:12]}"
        return self.work

    # -- tables -------------------------------------------------------------------------------
    def map(self, df: Any, fn: Any, schema: pa.Schema, *args: Any) -> Any:
        """``fn(batches, *args)`` over each partition (Arrow in, Arrow out)."""
        return df.mapInArrow(_bind(fn, args), spark_ddl(schema))

    def group(
        self,
        df: Any,
        keys: Sequence[str],
        order: Sequence[str],
        fn: Any,
        schema: pa.Schema,
        *args: Any,
    ) -> Any:
        """``fn`` over partitions holding whole groups of ``keys``, sorted by ``order``."""
        if self.fixed_partitions:
            parted = df.repartition(self.partitions, *keys)
        else:  # Spark's default count, coalesced by adaptive execution where that is on
            parted = df.repartition(*keys)
        parted = parted.sortWithinPartitions(*order)
        return self.map(parted, fn, schema, *args)

    @contextlib.contextmanager
    def input_splits(self) -> Iterator[None]:
        """Within this block, input files are cut into splits of ``split_bytes``."""
        key = "spark.sql.files.maxPartitionBytes"
        if self.split_bytes is None:
            yield
            return
        before = self.spark.conf.get(key)
        self.spark.conf.set(key, str(self.split_bytes))
        try:
            yield
        finally:
            self.spark.conf.set(key, before)

    def checkpoint(self, df: Any, name: str) -> Any:
        """Write a table under the work folder and read it back."""
        assert self.work is not None
        path = f"{self.work}/{name}"
        df.write.mode("overwrite").parquet(path)
        return self.spark.read.parquet(path)

    def from_arrow(self, table: pa.Table) -> Any:
        if table.num_rows == 0:
            return self.spark.createDataFrame([], spark_ddl(table.schema))
        return self.spark.createDataFrame(table.to_pandas(), spark_ddl(table.schema))

    def to_arrow(self, df: Any) -> pa.Table:
        if hasattr(df, "toArrow"):
            return df.toArrow()
        return pa.Table.from_pandas(df.toPandas(), preserve_index=False)  # Spark < 4

    # -- algorithms -----------------------------------------------------------------------------
    def components(self, edges: Any) -> Any:
        """``(pos, root)`` for every node of an ``(a, b)`` edge table, root = its component's
        smallest node."""
        count = edges.count()
        if count <= self.collect_edges:
            return self._components_driver(edges)
        return self._components_star(edges)

    def _components_driver(self, edges: Any) -> Any:
        t = self.to_arrow(edges.select("a", "b"))
        pairs = np.stack([t.column("a").to_numpy(), t.column("b").to_numpy()], axis=1).astype(
            np.int64
        )
        nodes, inverse = np.unique(pairs, return_inverse=True)
        root = union_find(nodes.size, inverse.reshape(-1, 2).astype(np.int64))
        out = pa.table({"pos": pa.array(nodes), "root": pa.array(nodes[root])})
        return self.from_arrow(out)

    def _components_star(self, edges: Any) -> Any:
        """Alternate large-star and small-star until every edge joins a root to a member."""
        e = edges.selectExpr("least(a, b) as a", "greatest(a, b) as b").where("a != b")
        e = self.checkpoint(e.dropDuplicates(), "cc-0")
        for round_ in range(1, 200):
            e = self._large_star(e)
            e = self.checkpoint(self._small_star(e), f"cc-{round_}")
            # converged when no node is both a smaller end and a larger end
            if e.select("a").intersect(e.select("b")).limit(1).count() == 0:
                break
        roots = e.selectExpr("a as pos", "a as root").dropDuplicates()
        return e.selectExpr("b as pos", "a as root").unionByName(roots)

    @staticmethod
    def _large_star(e: Any) -> Any:
        both = e.selectExpr("a as u", "b as v").unionByName(e.selectExpr("b as u", "a as v"))
        m = both.groupBy("u").agg({"v": "min"}).withColumnRenamed("min(v)", "mv")
        return (
            both.join(m, "u")
            .where("v > u")
            .selectExpr("v as a", "least(u, mv) as b")
            .selectExpr("least(a, b) as a", "greatest(a, b) as b")
            .where("a != b")
            .dropDuplicates()
        )

    @staticmethod
    def _small_star(e: Any) -> Any:
        d = e.selectExpr("b as u", "a as v")  # each edge from its larger to its smaller end
        m = d.groupBy("u").agg({"v": "min"}).withColumnRenamed("min(v)", "m")
        moved = d.join(m, "u").where("v != m").selectExpr("m as a", "v as b")
        kept = m.selectExpr("m as a", "u as b")
        return moved.unionByName(kept).dropDuplicates()

    def dense_index(self, df: Any, column: str) -> Any:
        """``(column, index)``: the distinct values of ``column`` numbered 0, 1, … in order."""
        from pyspark import StorageLevel
        from pyspark.sql.functions import spark_partition_id

        ranged = (
            df.select(column)
            .dropDuplicates()
            .repartitionByRange(*([self.partitions] if self.fixed_partitions else []), column)
            .sortWithinPartitions(column)
            .withColumn("pid", spark_partition_id())
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        counts = dict((int(r[0]), int(r[1])) for r in ranged.groupBy("pid").count().collect())
        offsets, total = {}, 0
        for pid in sorted(counts):
            offsets[pid] = total
            total += counts[pid]
        schema = pa.schema([(column, pa.int64()), ("index", pa.int64())])
        return self.map(ranged, index_partition, schema, offsets, column)

    def cache(self, df: Any) -> Any:
        """``df`` kept (memory, then disk) once computed, for several writes."""
        from pyspark import StorageLevel

        return df.persist(StorageLevel.MEMORY_AND_DISK)

    def sorted_cache(self, df: Any, column: str) -> Any:
        """``df`` range-partitioned and sorted by ``column``, kept (memory, then disk) so that
        several writes read the same partitions in the same order."""
        from pyspark import StorageLevel

        return df.orderBy(column).persist(StorageLevel.MEMORY_AND_DISK)


#: The driver settings that keep a local session on loopback.
LOOPBACK_DRIVER = {"spark.driver.bindAddress": "127.0.0.1", "spark.driver.host": "127.0.0.1"}


def session_master(master: str | None, environ: Mapping[str, str]) -> str | None:
    """The master URL a session neardup builds is given: the one asked for; else none when
    Python runs under ``spark-submit`` (its JVM gateway is already running, and the master it
    was submitted to stands: setting one here would silently replace a cluster by a local
    session); else ``local[*]``."""
    if master:
        return master
    if environ.get("PYSPARK_GATEWAY_PORT"):
        return None
    return "local[*]"


def local_driver_address(
    master: str | None, conf: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, str]:
    """Driver address settings for a session neardup starts itself: with a local master
    (``local``, ``local[N]``, ``local[*]``; ``None`` means ``local[*]``) the driver binds to and
    advertises 127.0.0.1 instead of the machine's network address, unless ``conf`` sets either
    ``spark.driver.bindAddress`` or ``spark.driver.host`` or ``SPARK_LOCAL_IP`` is set in
    ``environ``. Other masters get nothing (their executors must reach the driver)."""
    if not (master or "local[*]").startswith("local"):
        return {}
    if any(key in conf for key in LOOPBACK_DRIVER) or environ.get("SPARK_LOCAL_IP"):
        return {}
    return dict(LOOPBACK_DRIVER)


def _active_session(session_cls: Any) -> Any:
    return session_cls.getActiveSession()


def settle_worker() -> None:
    """Move what a Python worker holds at the start of a task (its imported modules: numba,
    pyarrow, neardup, some 100,000 objects) out of the garbage collector's reach.

    PySpark's daemon runs a full ``gc.collect()`` after every task of a reused worker, and each
    one walks every tracked object again: about 40 ms of CPU with those modules loaded, so tens
    of CPU-seconds over a run's tasks. ``gc.freeze`` (the permanent generation of PEP 603,
    Python 3.7+) leaves them out of later collections. It is called at the start of every task,
    after the collection that ended the previous one, so modules a task imports lazily are
    frozen by the next; what a task allocates and drops is still collected (or freed by
    reference counting, frozen or not)."""
    gc.freeze()


def _bind(fn: Any, args: tuple[Any, ...]) -> Any:
    def run(batches: Any) -> Any:
        settle_worker()
        return fn(batches, *args)

    return run
