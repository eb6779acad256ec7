#!/usr/bin/env python3
"""The hand-written script syncer's first snapshot is compared with (make bench).

What a person would write with requests and psycopg2: log in to MGID, read the
agency and its clients list, and insert one row per client into a table of the
per-snapshot shape in one transaction (execute_values, 1,000 rows a statement).
Usage: bench_snapshot.py MGID_BASE_URL LOGIN PASSWORD DSN
"""
import datetime
import sys

import psycopg2
import psycopg2.extras
import requests

base, login, password, dsn = sys.argv[1:5]
s = requests.Session()
tok = s.post(base + "/v1/auth/agencies-token", data={"login": login, "password": password}, timeout=300).json()
s.headers["Authorization"] = "Bearer " + tok["token"]
agency = tok["accountId"]
s.get(base + "/v1/agencies/" + agency, timeout=300).json()
clients = s.get(base + "/v1/agencies/" + agency + "/clients", timeout=300).json()["clients"]
if isinstance(clients, dict):
    clients = list(clients.values())
now = datetime.datetime.now(datetime.timezone.utc)
rows = [(int(agency), now, int(c["id"]), c.get("email", ""), c["wallet"].get("balance"),
         c["wallet"].get("credit"), c["wallet"].get("income")) for c in clients]
with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
    cur.execute("""CREATE TABLE IF NOT EXISTS script_client_balance (
        agency_id bigint NOT NULL, captured_at timestamptz NOT NULL, client_id bigint NOT NULL,
        email text NOT NULL, balance numeric(18,4), credit numeric(18,4), income numeric(18,4),
        PRIMARY KEY (agency_id, captured_at, client_id))""")
    psycopg2.extras.execute_values(cur, "INSERT INTO script_client_balance VALUES %s", rows, page_size=1000)
print(len(rows), "rows")
