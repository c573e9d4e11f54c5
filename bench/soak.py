#!/usr/bin/env python3
"""A mixed workload against a running CTG API for a given time, as bench/soak.sh runs it.

Sets up, through the API (bench/payments_race.py's setup), a signed CTG of the CAF 74 with a
committed commitment and its schedule, then runs side by side until the time is up:

  - 2 readers: the contract list of 74, the contract, its funding summary, the departmental summary;
  - 2 writers: each renames its own axis of the contract (If-Match), then adds an organisation
    of 33, timed one by one;
  - 1 payer: a payment of 100 cents under a fresh Idempotency-Key, retried once with the same key;
  - 1 feed reader: follows /v1/events from its start, checking no event comes twice;
  - 1 importer: every minute, a bulk file of observations (a job: 202, then its import followed to
    `succeeded`), its apply time read from the import's `elapsed_ms` and from the server's log.

Every minute it prints the server's resident memory (VmRSS of --pid) and the counts so far. At the
end: requests, errors (any answer the workload did not expect), 5xx, the slowest write, and the
slowest apply of a file. Exits 1 on any error or 5xx. Standard library only.
"""

import argparse
import collections
import json
import threading
import time
import uuid

from payments_race import Client, Failure, setup


class Tally:
    """What the workers saw, shared."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = collections.Counter()
        self.errors = []
        self.server_errors = 0
        self.slowest_write = 0.0
        self.imports = []

    def record(self, kind, reply, expected):
        with self.lock:
            self.requests[kind] += 1
            if reply.status >= 500:
                self.server_errors += 1
            if reply.status not in expected:
                self.errors.append(f"{kind}: {reply.status} {reply.text[:300]}")

    def write_took(self, seconds):
        with self.lock:
            self.slowest_write = max(self.slowest_write, seconds)


def reader(client, tally, stop, contract):
    paths = [
        "/v1/contracts?department=74",
        f"/v1/contracts/{contract}",
        f"/v1/contracts/{contract}/funding-summary",
        "/v1/departments/74/summary",
    ]
    while not stop.is_set():
        for path in paths:
            tally.record("read", client.call("GET", path), {200})


def writer(client, tally, stop, contract, number):
    """Keeps renaming an axis of its own (a contract holds a handful, not thousands) and adds an
    organisation to the directory of 33."""
    axis = client.expect(
        201, "POST", f"/v1/contracts/{contract}/axes", {"code": f"S{number}", "title": "Axe du soak"}
    ).json()
    path = f"/v1/contracts/{contract}/axes/{axis['id']}"
    n = 0
    while not stop.is_set():
        n += 1
        read = client.call("GET", path)
        tally.record("read", read, {200})
        reply = client.call("PATCH", path, {"title": f"Axe du soak {n}"}, {"If-Match": read.header("etag") or ""})
        tally.record("write", reply, {200})
        tally.write_took(reply.seconds)
        body = {"kind": "other", "name": f"Relais {number}-{n}", "department": "33"}
        reply = client.call("POST", "/v1/organisations", body)
        tally.record("write", reply, {201})
        tally.write_took(reply.seconds)


def payer(client, tally, stop, commitment, line):
    path = f"/v1/funding-commitments/{commitment}/payments"
    n = 0
    while not stop.is_set():
        n += 1
        key = str(uuid.uuid4())
        body = {"schedule_line_id": line, "paid_on": "2025-03-05", "amount_cents": 100, "reference": f"SOAK-{n}"}
        first = client.call("POST", path, body, {"Idempotency-Key": key})
        tally.record("payment", first, {201})
        tally.write_took(first.seconds)
        again = client.call("POST", path, body, {"Idempotency-Key": key})
        tally.record("payment", again, {201})
        if first.status == 201 and again.json() != first.json():
            with tally.lock:
                tally.errors.append(f"payment retry answered another payment: {first.text} / {again.text}")


def feed_reader(client, tally, stop):
    cursor, seen = None, set()
    while not stop.is_set():
        path = "/v1/events?limit=500" + (f"&after={cursor}" if cursor else "")
        reply = client.call("GET", path)
        tally.record("feed", reply, {200})
        if reply.status != 200:
            time.sleep(1)
            continue
        page = reply.json()
        for event in page["items"]:
            if event["id"] in seen:
                with tally.lock:
                    tally.errors.append(f"event {event['id']} seen twice")
            seen.add(event["id"])
        cursor = page["next_cursor"]
        if len(page["items"]) < 500:
            time.sleep(0.5)


def importer(client, tally, stop, file_path):
    with open(file_path, "rb") as handle:
        data = handle.read()
    while not stop.is_set():
        started = time.monotonic()
        reply = client.call_raw(
            "POST", "/v1/observations/bulk", data, {"Content-Type": "text/csv", "Prefer": "respond-async"}
        )
        tally.record("import", reply, {202})
        if reply.status == 202:
            location = reply.header("location")
            while True:
                status = client.call("GET", location)
                tally.record("import", status, {200})
                view = status.json() or {}
                if view.get("status") in ("succeeded", "failed") or status.status != 200:
                    break
                time.sleep(0.2)
            if view.get("status") != "succeeded":
                with tally.lock:
                    tally.errors.append(f"import {location}: {status.text[:500]}")
            with tally.lock:
                tally.imports.append(view.get("elapsed_ms", 0))
        stop.wait(max(0.0, 60 - (time.monotonic() - started)))


def resident_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return -1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--file", required=True, help="the bulk file sent every minute")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    client = Client(args.base_url, args.token)
    commitment, line = setup(client)
    contract = client.expect(200, "GET", f"/v1/funding-commitments/{commitment}").json()["contract_id"]

    tally, stop = Tally(), threading.Event()
    workers = [threading.Thread(target=reader, args=(client, tally, stop, contract)) for _ in range(2)]
    workers += [threading.Thread(target=writer, args=(client, tally, stop, contract, n)) for n in range(2)]
    workers.append(threading.Thread(target=payer, args=(client, tally, stop, commitment, line)))
    workers.append(threading.Thread(target=feed_reader, args=(client, tally, stop)))
    workers.append(threading.Thread(target=importer, args=(client, tally, stop, args.file)))
    for worker in workers:
        worker.daemon = True
        worker.start()

    started = time.monotonic()
    memory = []
    minute = 0
    while time.monotonic() - started < args.seconds:
        time.sleep(min(60, args.seconds - (time.monotonic() - started)))
        minute += 1
        memory.append(resident_mb(args.pid))
        with tally.lock:
            print(
                f"   minute {minute}: resident {memory[-1]} MB; requests {sum(tally.requests.values())}, "
                f"errors {len(tally.errors)}, 5xx {tally.server_errors}, imports {len(tally.imports)}",
                flush=True,
            )
    stop.set()
    for worker in workers:
        worker.join(timeout=120)

    total = sum(tally.requests.values())
    print(f"   requests by kind: {dict(tally.requests)}")
    for error in tally.errors[:10]:
        print(f"   ERROR {error}")
    with open(args.out, "w") as out:
        out.write(f"SOAK_REQUESTS={total}\n")
        out.write(f"SOAK_ERRORS={len(tally.errors)}\n")
        out.write(f"SOAK_5XX={tally.server_errors}\n")
        out.write(f"SOAK_SLOWEST_WRITE_MS={tally.slowest_write * 1000:.0f}\n")
        out.write(f"SOAK_IMPORTS={len(tally.imports)}\n")
        out.write(f"SOAK_MEMORY_MB='{' '.join(str(m) for m in memory)}'\n")
    if tally.errors or tally.server_errors:
        raise SystemExit(1)


if __name__ == "__main__":
    try:
        main()
    except Failure as failure:
        raise SystemExit(f"soak: {failure}") from None
