"""CRC-64/XZ as OSS computes it, and combining the CRCs of adjacent runs of bytes."""

import random

import pytest

from ossbox.protocol.crc64 import Crc64, crc64, crc64_combine

VECTORS = [
    (b"", 0),
    (b"123456789", 11051210869376104954),  # the CRC-64/XZ check value
    (b"a", 3675645893302102789),
    (b"hello", 11177612005948864433),
    (b"The quick brown fox jumps over the lazy dog", 6583902852472283588),
    (bytes(16), 16834806254322459491),
    (b"\xff" * 8, 18446744073709551615),
]


@pytest.mark.parametrize("data, crc", VECTORS, ids=[repr(d[:12]) for d, _ in VECTORS])
def test_known_vectors(data, crc):
    assert crc64(data) == crc


def test_check_value_of_123456789():
    assert crc64(b"123456789") == 11051210869376104954
    assert crc64(b"123456789") == 0x995DC9BBDF1939FA


def test_crc_of_empty_input_is_zero():
    assert crc64(b"") == 0
    assert crc64(b"", 0) == 0


def test_crc_of_empty_input_continues_unchanged():
    assert crc64(b"", 11051210869376104954) == 11051210869376104954


def test_crc_accepts_bytes_bytearray_and_memoryview():
    expected = 11051210869376104954
    assert crc64(bytearray(b"123456789")) == expected
    assert crc64(memoryview(b"123456789")) == expected
    assert crc64(memoryview(b"xx123456789xx")[2:11]) == expected


def test_crc_continues_from_a_previous_value():
    assert crc64(b"56789", crc64(b"1234")) == 11051210869376104954


def test_running_crc_over_pieces():
    running = Crc64()
    for piece in (b"1", b"", b"2345", b"6789"):
        running.update(piece)
    assert running.value == 11051210869376104954


def test_running_crc_starts_from_a_given_value():
    running = Crc64(crc64(b"12345"))
    running.update(b"6789")
    assert running.value == 11051210869376104954


COMBINE = [
    (b"1234", b"56789"),
    (b"", b"123456789"),
    (b"123456789", b""),
    (b"", b""),
    (b"\x00" * 1000, b"\xff" * 3),
    (b"x", b"\x00" * 65536),
]


@pytest.mark.parametrize("a, b", COMBINE, ids=[f"{len(a)}+{len(b)}" for a, b in COMBINE])
def test_combine_equals_crc_of_concatenation(a, b):
    assert crc64_combine(crc64(a), crc64(b), len(b)) == crc64(a + b)


def test_combine_of_random_splits_including_empty_parts():
    rng = random.Random(20240601)
    for _ in range(60):
        data = rng.randbytes(rng.randrange(0, 3000))
        cuts = sorted(rng.randrange(0, len(data) + 1) for _ in range(rng.randrange(0, 6)))
        parts = [data[i:j] for i, j in zip([0] + cuts, cuts + [len(data)])]
        combined = 0
        for part in parts:
            combined = crc64_combine(combined, crc64(part), len(part))
        assert combined == crc64(data), (len(data), cuts)


def test_combine_of_many_parts_like_a_multipart_upload():
    rng = random.Random(7)
    parts = [rng.randbytes(rng.choice([0, 1, 17, 4096, 100 * 1024])) for _ in range(60)]
    combined = 0
    for part in parts:
        combined = crc64_combine(combined, crc64(part), len(part))
    assert combined == crc64(b"".join(parts))


def test_combine_with_a_large_second_length_is_fast_and_right():
    # x^(8*len2) is computed by squaring, so a 5 GiB length costs no more than a small one.
    zeros = bytes(1 << 20)
    crc_zeros = crc64(zeros)
    crc = crc64(b"head")
    # CRC(head + 4 MiB of zeros) by combining 1 MiB at a time, and in one step
    step = crc
    for _ in range(4):
        step = crc64_combine(step, crc_zeros, len(zeros))
    four = crc64(bytes(4 << 20))
    assert crc64_combine(crc, four, 4 << 20) == step == crc64(b"head" + bytes(4 << 20))
    crc64_combine(crc, 123, 5 * 1024**3)  # must return promptly


crcmod_crc64 = pytest.importorskip("oss2.utils").Crc64


def _oss2_crc(data):
    c = crcmod_crc64()
    c.update(data)
    return c.crc


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 63, 64, 255, 1000, 4096, 65537])
def test_crc_agrees_with_oss2_crcmod(size):
    data = random.Random(size).randbytes(size)
    assert crc64(data) == _oss2_crc(data)


def test_combine_agrees_with_oss2_crcmod_combine():
    rng = random.Random(99)
    oss2_crc = crcmod_crc64()
    for _ in range(8):
        a = rng.randbytes(rng.randrange(0, 500))
        b = rng.randbytes(rng.randrange(0, 500))
        expected = oss2_crc.combine(_oss2_crc(a), _oss2_crc(b), len(b)) if b else _oss2_crc(a)
        assert crc64_combine(crc64(a), crc64(b), len(b)) == expected
