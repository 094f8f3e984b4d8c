#!/usr/bin/env python3
"""Writes the awkward-input corpus of the CSV reader and its MANIFEST.tsv.

Each case is (file name, bytes, expected reader outcome, what later stages should do).
Outcomes: "ok: R rows, C columns, delimiter X" (X is , ; | or tab), optionally followed by
", no header" and ", encoding E"; or "error: <part of the message>". tests/unit/test_csv.c
reads MANIFEST.tsv and checks every file. Run from anywhere: python3 generate.py
"""
import gzip
import io
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
cases = []


def case(name, data, outcome, notes):
    if isinstance(data, str):
        data = data.encode("utf-8")
    cases.append((name, data, outcome, notes))


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
        f.write(data)
    return buf.getvalue()


# --- empty and tiny files
case("empty.csv", b"", "error: the file is empty", "nothing to register: fail before creating anything")
case("bom_only.csv", b"\xef\xbb\xbf", "error: the file is empty", "a byte order mark and nothing else")
case("empty_lines_only.csv", "\n\n\r\n\n", "error: no records (only empty lines)", "fail before creating anything")
case("header_only.csv", "id,name,value\n", "ok: 0 rows, 3 columns, delimiter ,",
     "a table with 3 columns and no rows; types default to text")
case("header_only_no_newline.csv", "id,name,value", "ok: 0 rows, 3 columns, delimiter ,",
     "as header_only.csv")
case("one_row.csv", "id,name\n1,alice\n", "ok: 1 rows, 2 columns, delimiter ,", "id int64, name text")
case("one_column.csv", "value\n1\n2\n\n3\n", "ok: 3 rows, 1 columns, delimiter ,",
     "int64; the empty line is skipped (as pandas does), not a NULL")
case("no_header_numeric.csv", "1,2,3\n4,5,6\n7,8,9\n", "ok: 3 rows, 3 columns, delimiter ,, no header",
     "sniffed as headerless: columns need generated names; all int64")

# --- ragged rows and quoting errors
case("ragged_more.csv", "a,b\n1,2\n3,4,5\n6,7\n", "error: line 3: 3 fields, but the header has 2",
     "fail naming line 3; nothing committed")
case("ragged_fewer.csv", "a,b,c\n1,2,3\n4,5\n", "error: line 3: 2 fields, but the header has 3",
     "fail naming line 3; never pad with NULLs")
case("ragged_no_header.csv", "1,2\n3,4\n5\n", "error: line 3: 1 fields, but the first record has 2",
     "headerless file with a short line")
case("unterminated_quote.csv", "a,b\n1,\"open\n2,3\n4,5\n",
     "error: line 2: unterminated quoted field", "the quote opened on line 2 swallows the rest")
case("unterminated_quote_at_eof.csv", "a,b\n1,2\n3,\"abc", "error: line 3: unterminated quoted field",
     "last line opens a quote and the file ends")
case("junk_after_quote.csv", "a,b\n\"abc\"def,1\n",
     "error: line 2: field 1: unexpected 'd' after the closing quote",
     "pandas would read abcdef; we refuse to guess")
case("nul_bytes.csv", b"a,b\n1,2\n3,x\x00y\n", "error: NUL byte at line 3", "not a text file?")
random.seed(4)
case("binary_garbage.csv", bytes(random.randrange(256) for _ in range(4096)),
     "error: not a text file", "random bytes named .csv")
case("utf16_bom.csv", "a,b\n1,2\n".encode("utf-16"), "error: UTF-16 text",
     "UTF-16 with a byte order mark: not supported, convert to UTF-8")

# --- encodings
row = "{},h\u00e9llo w\u00f6rld \u2013 \u00e7a va\n"
body = "id,text\n"
n = 1
while len(body.encode()) < 70000:
    body += row.format(n)
    n += 1
bad_line = n + 1  # the header is line 1, row n is on line n + 1
offset = len(body.encode()) + len(str(n)) + 1 + 4
late = body.encode() + f"{n},bad \xff byte\n".encode("latin-1") + f"{n + 1},after\n".encode()
case("invalid_utf8_late.csv", late,
     f"error: line {bad_line}: invalid UTF-8 at byte offset {offset}",
     "clean UTF-8 for 70 KB (past the 64 KiB sample), then a latin-1 byte: rows before it are read, then the error")
case("latin1.csv", "name,city,price\nJos\u00e9,M\u00e1laga,12\nM\u00fcller,K\u00f6ln,7\n\u00c5se,\u00c5rhus,3\n".encode("latin-1"),
     "ok: 3 rows, 3 columns, delimiter ,, encoding cp1252",
     "transcoded to UTF-8 (latin-1 letters are the same bytes in cp1252); the dataset should record the source encoding")
case("cp1252.csv", "item,price,note\ncoffee,\u20ac3,\u201cgood\u201d\ntea,\u20ac2,it\u2019s fine \u2013 ok\n".encode("cp1252"),
     "ok: 2 rows, 3 columns, delimiter ,, encoding cp1252",
     "euro sign and smart quotes become U+20AC, U+201C...; price is text (the euro sign)")
case("double_byte_unknown.csv",
     ("id,name\n" + "".join(f"{i},\u6771\u4eac\u90fd\u6e0b\u8c37\u533a\n" for i in range(1, 30))).encode("shift_jis"),
     "error: the file's encoding could not be determined",
     "Shift-JIS: neither UTF-8 nor plausible cp1252; the user must convert it")
case("bom.csv", "\ufeffid,name\n1,alice\n2,bob\n", "ok: 2 rows, 2 columns, delimiter ,",
     "the BOM is stripped: the first column is 'id', not '\\ufeffid'")
case("unicode_values.csv", "id,text\n1,\U0001F600 emoji\n2,\u6771\u4eac\n3,\u05e9\u05dc\u05d5\u05dd\n4,e\u0301 combining\n",
     "ok: 4 rows, 2 columns, delimiter ,", "text kept byte for byte (no normalization)")

# --- line endings
case("crlf.csv", "a,b\r\n1,2\r\n3,4\r\n", "ok: 2 rows, 2 columns, delimiter ,", "int64 columns; no \\r left in values")
case("mixed_line_endings.csv", "a,b\r\n1,2\n3,4\r5,6\r\n7,8", "ok: 4 rows, 2 columns, delimiter ,",
     "LF, CRLF and lone CR in one file; int64")
case("lone_cr.csv", "a,b\r1,x\r2,y\r", "ok: 2 rows, 2 columns, delimiter ,", "classic Mac line ends")
case("no_final_newline.csv", "a,b\n1,2\n3,4", "ok: 2 rows, 2 columns, delimiter ,", "the last line is a row")
case("trailing_empty_lines.csv", "a,b\n1,2\n3,4\n\n\n\r\n", "ok: 2 rows, 2 columns, delimiter ,",
     "empty lines at the end are skipped")
case("blank_lines_middle.csv", "a,b\n1,2\n\n3,4\n", "ok: 2 rows, 2 columns, delimiter ,", "the empty line is skipped")
case("delimiter_only_trailing.csv", "a,b,c\n1,2,3\n,,,,,\n,,,,,\n", "ok: 1 rows, 3 columns, delimiter ,",
     "Excel's trailing ',,,,,' rows (wrong field count, no values) are skipped")

# --- quoting
case("quoted_newlines.csv", "id,text,n\n1,\"line one\nline two\",5\n2,\"a\r\nb\",6\n3,plain,7\n",
     "ok: 3 rows, 3 columns, delimiter ,", "newlines inside quotes are kept as written (LF and CRLF)")
case("doubled_quotes.csv", "id,quote\n1,\"he said \"\"hi\"\"\"\n2,\"\"\"\"\n3,\"\"\n",
     "ok: 3 rows, 2 columns, delimiter ,", "row 2 is a single quote character; row 3 is the empty string, not NULL")
case("quoted_empty_vs_missing.csv", "a,b,c\n\"\",,x\n,\"\",y\n", "ok: 2 rows, 3 columns, delimiter ,",
     "quoted empty = empty string; unquoted empty = NULL")
case("quote_in_unquoted.csv", "size,name\n5\" pipe,a\nO\"Brien,b\n", "ok: 2 rows, 2 columns, delimiter ,",
     "a quote inside an unquoted field is an ordinary character: 5\" pipe")
case("embedded_delimiters.csv", "id,address\n1,\"12 Main St, Springfield\"\n2,\"a,b,c\"\n",
     "ok: 2 rows, 2 columns, delimiter ,", "commas inside quotes do not split")
case("single_quote_quoted.csv", "'id','name'\n'1','x,y'\n'2','z'\n", "ok: 2 rows, 2 columns, delimiter ,",
     "quote sniffed as ': values without quotes; id int64")

# --- delimiters
case("semicolon.csv", "name;price;qty\napple;1,50;3\npear;2,25;4\n", "ok: 2 rows, 3 columns, delimiter ;",
     "decimal commas: price is text unless a locale option says ','; qty int64")
case("bom_crlf_semicolon.csv", "\ufeffDatum;Betrag;Text\r\n31.01.2024;1.234,56;K\u00e4se\r\n01.02.2024;7,00;Brot\r\n",
     "ok: 2 rows, 3 columns, delimiter ;", "Excel (German) export: dd.mm.yyyy dates, 1.234,56 amounts; keep as text")
case("tab_delimited.csv", "id\tname\tnote\n1\talice\thas, commas\n2\tbob\tok\n", "ok: 2 rows, 3 columns, delimiter tab",
     "tab sniffed although the name says .csv")
case("pipe.csv", "a|b|c\n1|x|2.5\n2|y|3.5\n", "ok: 2 rows, 3 columns, delimiter |", "c float64")
case("data.tsv", "id\ttext\n1\ta, b; c|d\n2\tplain\n", "ok: 2 rows, 2 columns, delimiter tab",
     "tab because of the .tsv name, whatever the content")
case("unquoted_quotes.tsv", 'id\ttitle\n1\t"Weird Al" Yankovic\n2\tThe "Best" Of\n3\tplain\n',
     "error: line 2: field 2: unexpected ' ' after the closing quote",
     "a TSV written without quoting (IMDb style): read it with the reader's no_quoting option; titles are text")
case("gzip.csv.gz", gz(b"id,name\n1,alice\n2,bob\n3,carol\n"), "ok: 3 rows, 2 columns, delimiter ,", "gzip, read streaming")
case("gzip_data.tsv.gz", gz(b"id\tv\n1\t2\n"), "ok: 1 rows, 2 columns, delimiter tab", ".tsv.gz means tab")
case("gzip_without_suffix.csv", gz(b"id,name\n1,alice\n"), "ok: 1 rows, 2 columns, delimiter ,",
     "gzip found by its magic bytes, not its name")
case("plain_named.csv.gz", "id,name\n1,alice\n", "ok: 1 rows, 2 columns, delimiter ,", "not compressed despite the name: read as is")
case("gzip_truncated.csv.gz", gz(("id,name\n" + "".join(f"{i},name {i}\n" for i in range(2000))).encode())[:300],
     "error: truncated gzip", "a damaged download")
case("gzip_empty.csv.gz", gz(b""), "error: the file is empty", "gzip of nothing")

# --- header names
case("duplicate_headers.csv", "a,a,b,a\n1,2,3,4\n", "ok: 1 rows, 4 columns, delimiter ,", "names become a, a.1, b, a.2")
case("duplicate_headers_case.csv", "Name,name,NAME\nx,y,z\n", "ok: 1 rows, 3 columns, delimiter ,",
     "SQLite and DuckDB compare names case-insensitively: dedupe ignoring case (Name, name.1, NAME.2)")
case("empty_header_names.csv", ",name,\n0,x,1\n1,y,2\n", "ok: 2 rows, 3 columns, delimiter ,",
     "empty names get generated ones (pandas: Unnamed: 0, Unnamed: 2)")
case("names_spaces_quotes.csv", "\"first name\",\"say \"\"hi\"\"\",\u00fcn\u00efc\u00f6d\u00e9,\" padded \",a;b\n1,2,3,4,5\n",
     "ok: 1 rows, 5 columns, delimiter ,", "identifiers with spaces, quotes, unicode, ';' kept as written: always quote them")

# --- values for the type inference
case("only_nulls.csv", "a,b,c\n,,\n,,\n,,\n", "ok: 3 rows, 3 columns, delimiter ,", "every value NULL: columns of type text, 3 rows kept")
case("int64_limits.csv", "v\n9223372036854775807\n-9223372036854775808\n0\n", "ok: 3 rows, 1 columns, delimiter ,",
     "int64, both limits exact")
case("int64_overflow.csv", "big,small\n9223372036854775808,1\n-9223372036854775809,2\n123456789012345678901234567890,3\n",
     "ok: 3 rows, 2 columns, delimiter ,", "big must become text (float64 would round it); small int64")
case("leading_zeros.csv", "zip,n\n00501,1\n02134,2\n10001,3\n", "ok: 3 rows, 2 columns, delimiter ,",
     "zip keeps its leading zeros: text, not int64")
case("floats_special.csv", "x\n0.1\n-0.0\n1e308\n4.9e-324\nNaN\ninf\n-Infinity\n1.7976931348623157e308\n",
     "ok: 8 rows, 1 columns, delimiter ,", "float64; NaN/inf stored as the engine allows; round-trip exact")
case("bools.csv", "a,b,c\ntrue,yes,1\nfalse,no,0\nTrue,Y,1\n", "ok: 3 rows, 3 columns, delimiter ,",
     "a bool; b bool if y/n forms are accepted, else text; c int64 (0/1 stays int)")
case("dates_formats.csv",
     "iso,us,eu,ts,ts_t,mixed\n2024-01-31,01/31/2024,31.01.2024,2024-01-31 12:34:56,2024-01-31T12:34:56.123456,2024-01-31\n"
     "2023-12-01,12/01/2023,01.12.2023,2023-12-01 00:00:00,2023-12-01T00:00:00Z,31/01/2024\n",
     "ok: 2 rows, 6 columns, delimiter ,",
     "iso date; us/eu: date only if the format is unambiguous, else text; ts timestamp; ts_t timestamp (Z = UTC); mixed text")
case("whitespace_around.csv", "a,b,c\n 1 , 2.5 ,  x  \n3,4.5,y\n", "ok: 2 rows, 3 columns, delimiter ,",
     "values kept with their spaces; inference may accept ' 1 ' as int64 but text must stay '  x  '")
case("late_float_in_int.csv", "id,v\n" + "".join(f"{i},{i}\n" for i in range(1, 5001)) + "5001,0.5\n",
     "ok: 5001 rows, 2 columns, delimiter ,", "v widens int64 -> float64 at line 5002")
case("late_text_in_int.csv", "id,v\n" + "".join(f"{i},{i}\n" for i in range(1, 5001)) + "5001,n/a\n",
     "ok: 5001 rows, 2 columns, delimiter ,", "v widens to text at line 5002; no value becomes NULL")
case("categorical.csv", "id,color\n" + "".join(f"{i},{['red','green','blue'][i % 3]}\n" for i in range(1, 301)),
     "ok: 300 rows, 2 columns, delimiter ,", "color text, categorical (3 distinct values)")

# --- sizes
cols = 3000
wide = ",".join(f"c{i}" for i in range(1, cols + 1)) + "\n"
for r in range(2):
    wide += ",".join(str(r * cols + i) for i in range(cols)) + "\n"
case("cols3000.csv", wide, "ok: 2 rows, 3000 columns, delimiter ,",
     "past SQLite's 2000 and PostgreSQL's 1600 columns: works on DuckDB, elsewhere fails naming the limit and suggesting --backend duckdb")
case("long_line.csv", "id,blob\n1," + "x" * 300000 + "\n2,short\n", "ok: 2 rows, 2 columns, delimiter ,",
     "a 300 KB field (a 1 MiB+ field is generated by test_csv.c)")


def main():
    names = set()
    with open(os.path.join(HERE, "MANIFEST.tsv"), "w", encoding="utf-8") as manifest:
        manifest.write("file\texpected\tnotes\n")
        for name, data, outcome, notes in cases:
            assert name not in names, name
            names.add(name)
            assert len(data) < 1_000_000, name
            with open(os.path.join(HERE, name), "wb") as f:
                f.write(data)
            manifest.write(f"{name}\t{outcome}\t{notes}\n")
    print(f"{len(cases)} files")


if __name__ == "__main__":
    main()
