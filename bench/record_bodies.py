"""Generated customers (`rapport generate` CSV) as POST /v1/records bodies: one JSON object a
line, keyed by the id column, without the truth columns, empty fields left out.

    python3 bench/record_bodies.py IN.csv OUT.ndjson SOURCE
"""
import csv
import json
import sys

with open(sys.argv[1], newline="") as f, open(sys.argv[2], "w") as out:
    for row in csv.DictReader(f):
        key = row.pop("id")
        row.pop("person_id")
        row.pop("household_id")
        out.write(json.dumps({"source": sys.argv[3], "source_key": key,
                              "fields": {k: v for k, v in row.items() if v}}) + "\n")
