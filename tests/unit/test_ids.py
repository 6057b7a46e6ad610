"""Ids: time-sortable, in Crockford's base32, sorting with the ids made before."""

from __future__ import annotations

import base64
import os
import re
import threading

from dlrhub.models.ids import new_id, time_part

_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
                             b"0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def _before(millis: int, random: bytes) -> str:
    """An id of the earlier format: 48 bits of time and 80 random, through base64."""
    raw = millis.to_bytes(6, "big") + random
    return base64.b32encode(raw)[:26].translate(_CROCKFORD).decode()


def test_the_time_part_holds_the_same_48_bits_as_ids_made_before() -> None:
    for millis in [0, 2**48 - 1, 1_764_676_800_000,
                   *(int.from_bytes(os.urandom(6), "big") for _ in range(500))]:
        old = _before(millis, os.urandom(10))
        new = time_part(millis)
        assert new[:9] == old[:9]
        # The tenth character: three bits of time, then two (random before, zero now).
        assert "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(new[9]) >> 2 == (
            "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(old[9]) >> 2)


def test_ids_sort_by_their_millisecond_with_ids_made_before() -> None:
    millis = 1_764_676_800_000
    old = [_before(millis - 1, os.urandom(10)) for _ in range(50)]
    new = [time_part(millis) + "0" * 16, time_part(millis) + "Z" * 16]
    later = [_before(millis + 1, os.urandom(10)) for _ in range(50)]
    assert max(old) < min(new)
    assert max(new) < min(later)


def test_a_new_id_has_its_prefix_26_characters_and_is_unique() -> None:
    made = [new_id("evt") for _ in range(10_000)]
    assert len(set(made)) == len(made)
    assert all(re.fullmatch(r"evt_[0-9A-HJKMNP-TV-Z]{26}", i) for i in made)
    assert made == sorted(made, key=lambda i: i[4:14])  # in time order, by their time part


def test_the_random_part_uses_the_whole_alphabet_evenly() -> None:
    counts: dict[str, int] = {}
    for _ in range(2000):
        for ch in new_id("x")[12:]:
            counts[ch] = counts.get(ch, 0) + 1
    assert len(counts) == 32
    assert max(counts.values()) < 2 * min(counts.values())


def test_threads_making_ids_at_once_never_make_the_same() -> None:
    made: list[list[str]] = [[] for _ in range(8)]

    def make(into: list[str]) -> None:
        into.extend(new_id("evt") for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(m,)) for m in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for m in made for i in m]
    assert len(set(every)) == len(every) == 40_000


def test_a_forked_worker_never_makes_its_parents_ids() -> None:
    new_id("evt")  # the parent has random characters drawn and not yet used
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read)
        os.write(write, " ".join(new_id("evt") for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split()
    os.waitpid(pid, 0)
    parent = [new_id("evt") for _ in range(100)]
    assert len(child) == 100
    assert not {i[14:] for i in child} & {i[14:] for i in parent}
