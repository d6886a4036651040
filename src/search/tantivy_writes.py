"""One batch of changes to an embedded index: staged on the event loop, committed in a thread.

Each `delete_documents_by_term` and `add_document` call releases the GIL. Made from a worker
thread while the event loop is busy (a catch-up page), each call then waits up to the switch
interval (5 ms) to get the GIL back: 7,000 stock documents took 1-2 s in `bench/worker`
instead of 60 ms. On the loop thread, which the other threads rarely hold the GIL against,
the same calls take microseconds. The commit writes segments without the GIL and may take
hundreds of milliseconds, so it runs in a thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable

import tantivy

#: Documents staged between chances for the event loop to run other work.
CHUNK = 500
#: How often a batch looks again for the writer's lock while a thread holds it.
LOCK_POLL_SECONDS = 0.01


async def write_batch(
    lock: threading.Lock,
    writer: Callable[[], tantivy.IndexWriter],
    deletes: Iterable[tuple[str, str]],
    documents: Iterable[tantivy.Document],
    after_commit: Callable[[], None],
) -> None:
    """Delete by each (field, term), add `documents` (built as they are staged), commit, then
    `after_commit` (reload the searcher), all under `lock`, which threads hold to swap or
    close the writer. A batch that fails before its commit is rolled back.
    """
    # A thread's lock has no awaitable; polling keeps a cancelled batch from taking it later.
    while not lock.acquire(blocking=False):  # noqa: ASYNC110
        await asyncio.sleep(LOCK_POLL_SECONDS)  # held while a thread swaps or closes the writer
    committing = False
    try:
        index_writer = writer()
        try:
            await _stage(index_writer, deletes, documents)
        except BaseException:
            index_writer.rollback()
            raise
        # The thread releases the lock: a cancelled batch must not free it mid-commit.
        commit = asyncio.get_running_loop().run_in_executor(
            None, _commit, lock, index_writer, after_commit
        )
        committing = True
        await commit
    finally:
        if not committing:
            lock.release()


async def _stage(
    index_writer: tantivy.IndexWriter,
    deletes: Iterable[tuple[str, str]],
    documents: Iterable[tantivy.Document],
) -> None:
    for count, (field, term) in enumerate(deletes, 1):
        index_writer.delete_documents_by_term(field, term)
        if count % CHUNK == 0:
            await asyncio.sleep(0)  # lets the loop run other work; not a wait
    for count, document in enumerate(documents, 1):
        index_writer.add_document(document)
        if count % CHUNK == 0:
            await asyncio.sleep(0)


def _commit(
    lock: threading.Lock, index_writer: tantivy.IndexWriter, after_commit: Callable[[], None]
) -> None:
    try:
        index_writer.commit()
        after_commit()
    finally:
        lock.release()
