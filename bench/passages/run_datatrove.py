"""datatrove's sentence dedup (C4-style 3-sentence spans) on one JSONL file.

Runs inside ``bench/passages/.venv-peers/datatrove``; started by ``run.py``. The three stages of
datatrove's own example: SentenceDedupSignature -> SentenceFindDedups -> SentenceDedupFilter,
each under a LocalPipelineExecutor with one task (one input file: the "first" copy is then the
first in input order), at datatrove's default SentDedupConfig (n_sentences=3,
min_doc_words=50, min_num_sentences=3, lower-cased, punctuation and digits normalised).

Usage: ``python run_datatrove.py CORPUS.jsonl WORKDIR OUTDIR``; the deduplicated documents go to
``OUTDIR/00000.jsonl``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.dedup.sentence_dedup import (
    SentDedupConfig,
    SentenceDedupFilter,
    SentenceDedupSignature,
    SentenceFindDedups,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers.jsonl import JsonlWriter


def main() -> int:
    corpus, work, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]), Path(sys.argv[3])
    config = SentDedupConfig()

    def reader() -> JsonlReader:
        return JsonlReader(str(corpus.parent), glob_pattern=corpus.name, compression=None)

    stages = [
        [reader(), SentenceDedupSignature(output_folder=str(work / "sigs"), config=config)],
        [
            SentenceFindDedups(
                data_folder=str(work / "sigs"), output_folder=str(work / "dups"), config=config
            )
        ],
        [
            reader(),
            SentenceDedupFilter(data_folder=str(work / "dups"), config=config),
            JsonlWriter(str(out), output_filename="${rank}.jsonl", compression=None),
        ],
    ]
    for k, pipeline in enumerate(stages):
        LocalPipelineExecutor(
            pipeline=pipeline, tasks=1, workers=1, logging_dir=str(work / f"logs{k}")
        ).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
