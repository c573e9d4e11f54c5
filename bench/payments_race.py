#!/usr/bin/env python3
"""Races payments and their retries against one commitment of a running CTG API.

Sets up, through the API only, a signed CTG of the CAF 74 over one EPCI, a committed commitment of
25,000,000 cents for 2025 and its schedule (one advance of 100%), then:

  1. the burst: 250 distinct Idempotency-Keys, each sent twice with the identical body (the second
     a retry of the first), 500 requests shuffled and fired through a pool of client threads, each
     request timed client-side. 250 payments of 100,000 cents fill the year exactly;
  2. the over-limit round: 100 new keys, which must all be refused 409 (the year is full);
  3. the checks: only 201 and 409 "still in progress" in the burst; the payment list adds up to
     25,000,000 with 250 payments and 250 distinct references; every 201 answer of a key names the
     same payment; every payment is one that a 201 answered; the over-limit round got only 409;
     the retries refused as "in progress" are answered from the stored answer when sent again.

Standard library only. Any unexpected answer stops the run with the answer printed. Writes a
shell-sourceable result file (--out) for bench/payments.sh.
"""

import argparse
import collections
import concurrent.futures
import http.client
import json
import random
import shlex
import sys
import threading
import time
import urllib.parse

YEAR_CENTS = 25_000_000
PAYMENT_CENTS = 100_000
KEYS = YEAR_CENTS // PAYMENT_CENTS  # 250: exactly what the year holds
OVER_LIMIT_KEYS = 100


class Failure(Exception):
    """An answer the benchmark did not expect: what was asked and what came back."""


class Reply:
    __slots__ = ("status", "headers", "text", "seconds")

    def __init__(self, status, headers, text, seconds):
        self.status, self.headers, self.text, self.seconds = status, headers, text, seconds

    def json(self):
        try:
            return json.loads(self.text) if self.text else None
        except ValueError:
            return None

    def header(self, name):
        return self.headers.get(name.lower())


class Client:
    """JSON over http.client, one keep-alive connection per thread (what a real client pool does);
    a connection the server closed while idle is opened again once and the request re-sent (it
    never reached the server)."""

    def __init__(self, base_url, token, timeout=60):
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port = parsed.hostname, parsed.port
        self.token = token
        self.timeout = timeout
        self.local = threading.local()
        self.reconnects = 0
        self._lock = threading.Lock()

    def _connection(self, fresh=False):
        conn = getattr(self.local, "conn", None)
        if fresh and conn is not None:
            conn.close()
            conn = None
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.local.conn = conn
        return conn

    def call(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode("utf-8") if body is not None else None
        sent = {"Content-Type": "application/json"} if data is not None else {}
        sent.update(headers or {})
        return self.call_raw(method, path, data, sent)

    def call_raw(self, method, path, data, headers):
        """call() with a body of bytes, sent as they are, with the given headers."""
        sent = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        sent.update(headers)
        for attempt in (1, 2):
            conn = self._connection(fresh=attempt == 2)
            reused = getattr(conn, "sock", None) is not None
            started = time.perf_counter()
            try:
                conn.request(method, path, body=data, headers=sent)
                response = conn.getresponse()
                text = response.read().decode("utf-8", "replace")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                conn.close()
                if attempt == 1 and reused:
                    with self._lock:
                        self.reconnects += 1
                    continue
                raise Failure(f"{method} {path} -> no answer: {error!r}") from None
            except OSError as error:
                conn.close()
                raise Failure(f"{method} {path} -> no answer: {error!r}") from None
            seconds = time.perf_counter() - started
            if response.will_close:
                conn.close()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, text, seconds)
        raise AssertionError("unreachable")

    def expect(self, status, method, path, body=None, headers=None):
        """call(), stopping on any status other than `status`; returns the reply."""
        reply = self.call(method, path, body, headers)
        if reply.status != status:
            raise Failure(
                f"{method} {path} -> {reply.status}, expected {status}\n"
                f"  sent: {json.dumps(body, ensure_ascii=False) if body is not None else '-'}\n"
                f"  got:  {reply.text}"
            )
        return reply


def setup(client):
    """The signed contract, the committed commitment and its schedule; returns (commitment id,
    advance line id)."""
    caf = client.expect(
        201,
        "POST",
        "/v1/organisations",
        {"kind": "caf", "name": "CAF 74", "siren": "779311224", "department": "74"},
    ).json()
    epci = client.expect(201, "POST", "/v1/organisations", {"kind": "epci", "siren": "200000172"}).json()
    contract = client.expect(
        201,
        "POST",
        "/v1/contracts",
        {
            "kind": "ctg",
            "title": "Bench",
            "department": "74",
            "start_date": "2024-01-01",
            "end_date": "2028-12-31",
            "fields": ["petite_enfance", "jeunesse", "parentalite", "acces_aux_droits"],
            "perimeter": {"epcis": ["200000172"]},
        },
    ).json()
    contract_path = f"/v1/contracts/{contract['id']}"
    parties = [
        client.expect(
            201,
            "POST",
            f"{contract_path}/parties",
            # A CAF signs with two names: its président and its directeur.
            {"organisation_id": caf["id"], "roles": ["signatory", "payer"],
             "signatory_name": "Marie Durand", "second_signatory_name": "Paul Martin"},
        ).json(),
        client.expect(
            201,
            "POST",
            f"{contract_path}/parties",
            {"organisation_id": epci["id"], "roles": ["signatory", "pilot", "payee"]},
        ).json(),
    ]
    for party in parties:
        path = f"{contract_path}/parties/{party['id']}"
        etag = client.expect(200, "GET", path).header("etag")
        client.expect(
            200,
            "PATCH",
            path,
            {"signed_on": "2024-02-01", "deliberation_date": "2024-01-20", "deliberation_ref": "D1"},
            {"If-Match": etag},
        )
    for action in ("submit", "sign"):
        etag = client.expect(200, "GET", contract_path).header("etag")
        client.expect(200, "POST", f"{contract_path}/transitions", {"action": action}, {"If-Match": etag})

    # A bonus territoire EAJE funds a crèche its payee runs.
    creche = client.expect(
        201,
        "POST",
        "/v1/equipments",
        {"type": "eaje", "name": "Multi-accueil", "manager_id": epci["id"], "commune": "74042", "capacity_places": 20},
    ).json()
    commitment = client.expect(
        201,
        "POST",
        f"{contract_path}/funding-commitments",
        {
            "payee_id": epci["id"],
            "equipment_id": creche["id"],
            "programme": "bonus_territoire_eaje",
            "basis": "lump_sum",
            "origin": "new",
            "years": [{"year": 2025, "amount_cents": YEAR_CENTS}],
            "decision_date": "2024-12-01",
        },
    ).json()
    commitment_path = f"/v1/funding-commitments/{commitment['id']}"
    etag = client.expect(200, "GET", commitment_path).header("etag")
    client.expect(200, "POST", f"{commitment_path}/transitions", {"action": "commit"}, {"If-Match": etag})
    etag = client.expect(200, "GET", commitment_path).header("etag")
    client.expect(
        200,
        "POST",
        f"{commitment_path}/schedule/generate",
        {"advance_percent": 100, "advance_splits": ["03-01"]},
        {"If-Match": etag},
    )
    schedule = client.expect(200, "GET", f"{commitment_path}/schedule").json()
    advances = [line for line in schedule["lines"] if line["year"] == 2025 and line["kind"] == "advance"]
    if len(advances) != 1 or advances[0]["amount_cents"] != YEAR_CENTS:
        raise Failure(f"expected one advance of {YEAR_CENTS} cents for 2025, the schedule is:\n  {json.dumps(schedule)}")
    return commitment["id"], advances[0]["id"]


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * fraction // 1))  # ceil(n * fraction), at least 1
    return sorted_values[int(rank) - 1]


def fire(pool, client, path, attempts):
    """Sends every (key, body) of `attempts` on the pool; returns the replies in the same order
    and the wall-clock seconds from the first send to the last answer."""

    def send(attempt):
        key, body = attempt
        return client.call("POST", path, body, {"Idempotency-Key": key})

    started = time.perf_counter()
    futures = [pool.submit(send, attempt) for attempt in attempts]
    replies = [future.result() for future in futures]
    return replies, time.perf_counter() - started


def describe(reply):
    body = reply.json() or {}
    return f"{reply.status} {body.get('code', '')} {body.get('detail', '')}".strip()


def race(client, threads, seed):
    commitment_id, line_id = setup(client)
    commitment_path = f"/v1/funding-commitments/{commitment_id}"
    payments_path = f"{commitment_path}/payments"
    print(f"  set up: commitment {commitment_id}, advance line {line_id} ({YEAR_CENTS} cents)", flush=True)

    def payment(n):
        return {"schedule_line_id": line_id, "paid_on": "2025-03-05", "amount_cents": PAYMENT_CENTS, "reference": f"MANDAT-{n}"}

    rng = random.Random(seed)
    # 250 keys, each twice with the very same body; shuffled, so an original and its retry are
    # sometimes in flight together and sometimes far apart.
    attempts = [(f"pay-{n:03d}", payment(n)) for n in range(1, KEYS + 1) for _ in range(2)]
    rng.shuffle(attempts)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads)
    try:
        # Warm-up, discarded: opens the client's keep-alive connections and the server's pooled
        # database connections, so the burst measures payments rather than connection set-up.
        for _ in range(2):
            list(pool.map(lambda _: client.expect(200, "GET", f"{commitment_path}/schedule"), range(threads * 2)))

        replies, burst_seconds = fire(pool, client, payments_path, attempts)

        # -- the burst: statuses
        by_status = collections.Counter(reply.status for reply in replies)
        in_progress = []
        for (key, body), reply in zip(attempts, replies):
            if reply.status == 201:
                continue
            problem = reply.json() or {}
            if reply.status == 409 and problem.get("code") == "CONFLICT" and "in progress" in problem.get("detail", ""):
                in_progress.append((key, body))
                continue
            raise Failure(
                f"burst: POST {payments_path} (Idempotency-Key {key}) -> {reply.status}\n"
                f"  sent: {json.dumps(body)}\n  got:  {reply.text}\n"
                f"  statuses of the whole burst: {dict(by_status)}"
            )
        latencies = sorted(reply.seconds * 1000 for reply in replies)
        print(
            f"  burst: {len(replies)} requests in {burst_seconds:.2f} s; statuses {dict(sorted(by_status.items()))}; "
            f"{len(in_progress)} refused 409 as still in progress",
            flush=True,
        )

        # -- every 201 of a key names the same payment; the second is a replay
        ids_by_key = collections.defaultdict(set)
        created = collections.Counter()
        replayed = 0
        for (key, _), reply in zip(attempts, replies):
            if reply.status == 201:
                ids_by_key[key].add(reply.json()["id"])
                if reply.header("idempotent-replayed") == "true":
                    replayed += 1
                else:
                    created[key] += 1
        split = {key: ids for key, ids in ids_by_key.items() if len(ids) != 1}
        if split:
            raise Failure(f"keys answered 201 with different payments (paid twice): {dict(list(split.items())[:5])}")
        twice = [key for key, count in created.items() if count > 1]
        if twice:
            raise Failure(f"keys answered 201 twice without Idempotent-Replayed: {twice[:5]}")
        unanswered = sorted({key for key, _ in attempts} - ids_by_key.keys())
        if unanswered:
            raise Failure(f"{len(unanswered)} keys got no 201 at all: {unanswered[:5]}")

        # -- the over-limit round: 100 new keys, the year is full
        over = [(f"over-{n:03d}", payment(1000 + n)) for n in range(1, OVER_LIMIT_KEYS + 1)]
        over_replies, over_seconds = fire(pool, client, payments_path, over)
        over_statuses = collections.Counter(reply.status for reply in over_replies)
        for (key, body), reply in zip(over, over_replies):
            problem = reply.json() or {}
            if reply.status != 409 or problem.get("code") != "CONFLICT" or "in progress" in problem.get("detail", ""):
                raise Failure(
                    f"over-limit: POST {payments_path} (Idempotency-Key {key}) -> {reply.status}, expected 409 (year full)\n"
                    f"  sent: {json.dumps(body)}\n  got:  {reply.text}\n  statuses: {dict(over_statuses)}"
                )
        over_latencies = sorted(reply.seconds * 1000 for reply in over_replies)
        print(
            f"  over-limit round: {len(over_replies)} new keys in {over_seconds:.2f} s, all 409: "
            f"{(over_replies[0].json() or {}).get('detail', '')}",
            flush=True,
        )

        # -- a retry refused as "in progress" is answered from the stored answer when sent again
        late = [client.call("POST", payments_path, body, {"Idempotency-Key": key}) for key, body in in_progress]
        for (key, body), reply in zip(in_progress, late):
            if (
                reply.status != 201
                or reply.header("idempotent-replayed") != "true"
                or ids_by_key[key] != {(reply.json() or {}).get("id")}
            ):
                raise Failure(
                    f"late retry of {key} -> {reply.status} (replayed: {reply.header('idempotent-replayed')}), "
                    f"expected the replay of payment {ids_by_key[key]}\n  got: {reply.text}"
                )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    # -- what was paid, from the list
    items, token = [], None
    while True:
        query = {"page_size": 200}
        if token:
            query["page_token"] = token
        page = client.expect(200, "GET", f"{payments_path}?{urllib.parse.urlencode(query)}").json()
        items.extend(page["items"])
        token = page.get("next_page_token")
        if not token:
            break
    total = sum(item["amount_cents"] for item in items)
    references = {item["reference"] for item in items}
    listed_ids = {item["id"] for item in items}
    answered_ids = {payment_id for ids in ids_by_key.values() for payment_id in ids}
    problems = []
    if total != YEAR_CENTS:
        problems.append(f"paid total {total} cents, expected {YEAR_CENTS}")
    if len(items) != KEYS:
        problems.append(f"{len(items)} payments listed, expected {KEYS}")
    if len(references) != KEYS:
        problems.append(f"{len(references)} distinct references, expected {KEYS}")
    if listed_ids != answered_ids:
        problems.append(
            f"{len(listed_ids - answered_ids)} listed payments no 201 named, "
            f"{len(answered_ids - listed_ids)} answered payments not listed"
        )
    schedule = client.expect(200, "GET", f"{commitment_path}/schedule").json()
    year = next((y for y in schedule["years"] if y["year"] == 2025), {})
    if year.get("paid_cents") != YEAR_CENTS or year.get("remaining_cents") != 0:
        problems.append(f"the schedule's 2025 totals disagree: {json.dumps(year)}")
    if problems:
        raise Failure("after the burst: " + "; ".join(problems))
    print(
        f"  checked: {len(items)} payments, {len(references)} distinct references, {total} cents paid; "
        f"{replayed} retries answered as replays, {len(in_progress)} 'in progress' retries replayed when sent again",
        flush=True,
    )
    return {
        "REQUESTS": len(replies),
        "SECONDS": f"{burst_seconds:.3f}",
        "RPS": f"{len(replies) / burst_seconds:.0f}",
        "P50_MS": f"{percentile(latencies, 0.50):.1f}",
        "P99_MS": f"{percentile(latencies, 0.99):.1f}",
        "MAX_MS": f"{latencies[-1]:.1f}",
        "CREATED": sum(created.values()),
        "REPLAYED": replayed,
        "IN_PROGRESS": len(in_progress),
        "OVER_RPS": f"{len(over_replies) / over_seconds:.0f}",
        "OVER_P50_MS": f"{percentile(over_latencies, 0.50):.1f}",
        "OVER_P99_MS": f"{percentile(over_latencies, 0.99):.1f}",
        "PAID_CENTS": total,
        "PAYMENTS": len(items),
        "RECONNECTS": client.reconnects,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="an admin bearer token")
    parser.add_argument("--threads", type=int, default=64, help="concurrent client threads")
    parser.add_argument("--seed", type=int, default=None, help="shuffle seed (random by default)")
    parser.add_argument("--out", help="write the results here, shell-sourceable, as BENCH_<NAME>=value")
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"  shuffle seed {seed} (--seed {seed} / BENCH_SEED={seed} replays this order)", flush=True)
    client = Client(args.base_url, args.token)
    try:
        result = race(client, args.threads, seed)
    except Failure as failure:
        print(f"bench: {failure}", file=sys.stderr)
        return 1
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            for name, value in result.items():
                out.write(f"BENCH_{name}={shlex.quote(str(value))}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
