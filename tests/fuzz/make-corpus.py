#!/usr/bin/env python3
"""Writes the generated part of the seed corpus (tests/fuzz/corpus/<target>/seed-*): small MAT-files
(compressed and not), CSV files, UTKFace names, record files and prepared-dataset parts. Crashes
found by fuzzing are kept beside them as crash-* files. Run from anywhere; deterministic."""
import os
import struct
import zlib

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


# --- MAT v5 -------------------------------------------------------------------------------------
def element(type_, data):
    out = struct.pack("<II", type_, len(data)) + data
    return out if type_ == 15 else out + b"\0" * ((8 - len(data) % 8) % 8)


def matrix(cls, dims, name, body):
    return element(14, element(6, struct.pack("<II", cls, 0)) + element(5, struct.pack("<%di" % len(dims), *dims))
                   + element(1, name.encode()) + body)


def doubles(values):
    return matrix(6, [1, len(values)], "", element(9, struct.pack("<%dd" % len(values), *values)))


def text(s, utf16=False):
    if utf16:
        units = s.encode("utf-16-le")
        return matrix(4, [1, len(units) // 2], "", element(17, units))
    return matrix(4, [1, len(s.encode())], "", element(16, s.encode()))


def cell(items):
    return matrix(1, [1, len(items)], "", b"".join(items))


def structure(name, fields):
    names = b"".join(f.encode().ljust(32, b"\0") for f, _ in fields)
    return matrix(2, [1, 1], name, element(5, struct.pack("<i", 32)) + element(1, names)
                  + b"".join(v for _, v in fields))


def matfile(variables):
    return b"MATLAB 5.0 MAT-file, FaceAtlas fuzz seed".ljust(116, b" ") + b"\0" * 8 + b"\x00\x01IM" + variables


def wiki(n, utf16=False, name="wiki"):
    return structure(name, [
        ("dob", doubles([723671.0 + 400 * i for i in range(n)])),
        ("photo_taken", doubles([2009.0 + i % 5 for i in range(n)])),
        ("full_path", cell([text("%02d/%d_1980-01-01_2009.jpg" % (i, i)) for i in range(n)])),
        ("gender", doubles([float(i % 2) if i % 3 else float("nan") for i in range(n)])),
        ("name", cell([text("P\u00e9rson %d" % i, utf16) for i in range(n)])),
        ("face_location", cell([doubles([1.0 * i, 2.0, 30.5, 40.5]) for i in range(n)])),
        ("face_score", doubles([float("-inf") if i == 0 else 1.5 + i for i in range(n)])),
        ("second_face_score", doubles([float("nan") if i % 2 else 0.5 for i in range(n)])),
    ])


put("mat", "wiki-4.mat", matfile(wiki(4)))
put("mat", "wiki-4-utf16.mat", matfile(wiki(4, utf16=True, name="imdb")))
put("mat", "wiki-6-compressed.mat", matfile(element(15, zlib.compress(wiki(6), 9))))
put("mat", "two-variables.mat", matfile(doubles([1, 2, 3]) + element(15, zlib.compress(cell([text("a"), text("b")])))))
put("mat", "nested-cells.mat", matfile(cell([cell([cell([doubles([7.0])])])])))
put("mat", "empty-cell-element.mat", matfile(structure("wiki", [("dob", doubles([])), ("name", cell([element(14, b"")]))])))

# --- CSV ----------------------------------------------------------------------------------------
put("csv", "basic.csv", "path,age,gender\na.jpg,31,M\nsub/b.jpg,,female\n/abs/c.jpg,45,\n")
put("csv", "quoted.csv", 'id,file,Age,gender,notes\n1,"a, b.jpg",31.5,F,"x ""y"""\n2,c.jpg,116,m,\n3,d.jpg,117,f,\n')
put("csv", "bom-crlf.csv", "\ufeffpath,age\r\ngood.jpg,30\r\nbad.jpg,nan\r\n")
put("csv", "ages.csv", "path,age\n" + "".join("x.jpg,%s\n" % a for a in
                                            ["0", "1e2", "+7", "-0", "0x1A", "inf", "1e400", "12abc", " 12 ", ".5"]))

# --- UTKFace names --------------------------------------------------------------------------------
for i, name in enumerate(["25_0_0_20170116174525125.jpg.chip.jpg", "1_1_4_20161219140530307.jpg",
                          "116_0_3_20170120134639935.JPG", "999_1_4_20170116174525125.jpg.chip.jpg",
                          "25__0_20170116174525125.jpg", "61_1_20170109142408075.jpg.chip.jpg",
                          "25_0_0_20170116174525125.png"]):
    put("utkname", "name-%d" % i, name)


# --- record files -------------------------------------------------------------------------------
def record(path, age, gender, name):
    s = lambda t: struct.pack("<I", len(t.encode())) + t.encode()
    return (s(path) + struct.pack("<ibb", age if age is not None else 0, age is not None, gender)
            + struct.pack("<6d", 0.5, float("nan"), 1, 2, 3, 4) + struct.pack("<ii", 723671, 2009) + s(name))


def records(rows):
    return b"FAREC001" + struct.pack("<Q", len(rows)) + b"".join(record(*r) for r in rows)


RECS = records([("/d/a.jpg", 30, 1, "A"), ("/d/b.jpg", None, -1, ""), ("/d/\u00e9.jpg", 116, 0, "\u00c9")])
put("records", "three.bin", RECS)
put("records", "empty.bin", records([]))

# --- prepared-dataset parts ------------------------------------------------------------------------
SEP = b"@@SEP@@"
MANIFEST = (b'{"format": "faceatlas-prepared", "size": 8, "source": "demo:3", '
            b'"normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]}}')
SPLIT = b"FASPLIT1" + struct.pack("<QQ", 2, 1) + struct.pack("<3I", 0, 2, 1)
put("prepared", "three.bin", MANIFEST + SEP + RECS + SEP + SPLIT + SEP + b"\x80" * (3 * 8 * 8 * 3))
put("prepared", "no-images.bin", MANIFEST + SEP + records([]) + SEP + b"FASPLIT1" + b"\0" * 16 + SEP)

# --- review files ------------------------------------------------------------------------------------
REVIEW = b"path,action,old,new,reason,time\n"
put("review", "all-actions.csv", REVIEW + b'/a.jpg,age,30,31,age_outlier,2026-12-02T10:00:00Z\n'
    b'"/b, c.jpg",gender,M,F,duplicate_conflict,t\n/d.jpg,exclude,,,split_leak,t\n/d.jpg,keep,,,,t\n')
put("review", "cut-short.csv", REVIEW + b"/a.jpg,age,30,3")
put("review", "bad-rows.csv", REVIEW.replace(b"\n", b"\r\n") + b"/a.jpg,age,30,117,r,t\r\n"
    b"/b.jpg,gender,M,male,r,t\r\n/c.jpg,drop,,,r,t\r\n\"/d.jpg,keep\n,keep,,,r,t\n/e\x00.jpg,keep,,,r,t\n")
put("review", "other-header.csv", b"path,age\n/a.jpg,3\n")
