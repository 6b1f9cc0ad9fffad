"""`kspec predict`'s text outputs are written by the json and csv modules: any output or class name
reads back unchanged (a name with a quote, a class with a comma, a quote or a newline)."""
import csv
import io
import json

import numpy as np

from kspec.cli.commands.predict import write_classes, write_outputs

ODD = ['out"a', "b,c"]


def _outputs():
    return {ODD[0]: np.array([[0.1, 2.5], [np.nan, -np.inf]], np.float32),
            ODD[1]: np.array([[1e-8], [3.0]], np.float32)}


def _written(fn, values, fmt):
    stream = io.StringIO()
    fn(values, fmt, stream)
    return stream.getvalue()


def test_jsonl_outputs_with_odd_names_are_valid_json():
    lines = _written(write_outputs, _outputs(), "jsonl").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [list(r) for r in rows] == [ODD, ODD], rows
    assert rows[0][ODD[0]] == [0.1, 2.5] and rows[1][ODD[1]] == [3.0], rows
    assert np.isnan(rows[1][ODD[0]][0]) and rows[1][ODD[0]][1] == -np.inf, rows
    assert "[0.1, 2.5]" in lines[0], f"float32 values print in their shortest form: {lines[0]}"


def test_csv_outputs_quote_an_odd_header():
    rows = list(csv.reader(io.StringIO(_written(write_outputs, _outputs(), "csv"))))
    assert rows[0] == ['out"a_0', 'out"a_1', "b,c_0"], rows[0]
    assert rows[1] == ["0.1", "2.5", "1e-08"] and rows[2][:2] == ["nan", "-inf"], rows


def test_class_names_with_commas_quotes_and_newlines_round_trip():
    names = ['a,b', 'say "hi"', "two\nlines", "plain"]
    text = _written(write_classes, {"out": names}, "csv")
    assert [r[0] for r in csv.reader(io.StringIO(text))] == names, text
    several = _written(write_classes, {ODD[0]: names, ODD[1]: [0, 1, 2, 3]}, "csv")
    rows = list(csv.reader(io.StringIO(several)))
    assert rows[0] == ODD and rows[1:] == [[n, str(i)] for i, n in enumerate(names)], rows
    lines = _written(write_classes, {ODD[0]: names, ODD[1]: [0, 1, 2, 3]}, "jsonl").splitlines()
    assert [json.loads(line) for line in lines] == [{ODD[0]: n, ODD[1]: i} for i, n in enumerate(names)]
    single = _written(write_classes, {"out": names}, "jsonl").splitlines()
    assert [json.loads(line) for line in single] == names
