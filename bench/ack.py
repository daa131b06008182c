"""Slack request → ack → reply on loopback: `chatcrm serve` against the fastest correct Bolt app (the floor).

    python bench/ack.py                          # SQLite, one web process; reads and writes at 1 and 32 users
    python bench/ack.py --seconds 15 --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench --workers 2

Both servers run under uvicorn. The floor (bench/bare_bolt.py) is a Bolt app with
`process_before_response=True` that only acks: no 10 ms ack poll, nothing on the event loop but the adapter.
A local fake Slack (its own thread) answers every Web API call and is the `response_url` of every request,
each request with a URL of its own, so the fake knows when each answer arrived.

Each simulated user sends a request signed exactly as Slack signs it and waits for its reply before
sending the next:
- ack latency: until the HTTP response is in hand;
- reply latency (what the person feels): the same moment when the answer came inline in the HTTP response
  (a command answered within the budget), else until the fake's response_url got the answer (or, for a
  click answered with a form, until views.open was called with the request's trigger_id).
The floor does no work: its reply is its ack. Mixes: reads (`/crm deal D-n`, `/crm my`) and writes
(`/crm log D-n call …`, `/crm advance D-n`, the "Advance" button); events (`--mixes event,idle`: Events
API callbacks — reactions, 📌, Home tab — whose answer is their ack: `event` is the ack rate with the work
they start running after it, `idle` reactions that start no work, the ack path alone; `home` and `pin` one
kind of work alone: Home-tab openings, 📌 outside any swarm). Prints each figure beside the floor's and the
ratio. Not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
USERS = ["U01LI", "U01HAN", "U01EMMA", "U01TOM"]
REPLY_TIMEOUT = 30.0


class Replies:
    """When each request's answer reached the fake response_url (perf_counter), by request id."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.at: dict[str, float] = {}
        self.count = 0

    def arrived(self, rid: str) -> None:
        with self.cond:
            self.at.setdefault(rid, time.perf_counter())
            self.count += 1
            self.cond.notify_all()

    def wait(self, rid: str, timeout: float) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: rid in self.at, timeout)
            return self.at.pop(rid, None)


REPLIES = Replies()
TRIGGER = re.compile(r"\.([0-9a-f]{32})")  # the request id in a trigger_id


class FakeSlack(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        parts = self.path.strip("/").split("/")
        if parts[0] == "response":
            REPLIES.arrived(parts[-1])
        elif parts[-1] == "views.open":  # the answer to "Advance" on a deal missing fields: a form opens
            found = TRIGGER.search(raw.decode("utf-8", "replace"))
            if found:
                REPLIES.arrived(found.group(1))
        body: dict[str, object] = {"ok": True}
        method = parts[-1]
        if method == "auth.test":
            body.update(user_id="UBOT", bot_id="BBOT", team_id="T0001", team="bench")
        elif method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            body.update(channel="D0001", ts=f"{time.time():.6f}")
        elif method == "conversations.history":
            body.update(messages=[])
        elif method == "users.info":
            body.update(user={"id": "U0", "name": "bench", "real_name": "Bench User"})
        data = b"ok" if parts[0] == "response" else json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        return


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            httpx.post(url, content=b"", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def signed(body: str, content_type: str) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


FAKE = "http://127.0.0.1:9"  # replaced by the fake's address in main()


EMOJI = ["thumbsup", "eyes", "tada", "white_check_mark", "pray"]


EVENT_MIXES = ("event", "idle", "home", "pin")


def event_body(rng: random.Random, rid: str, *, idle: bool = False, only: str | None = None) -> str:
    """An Events API callback as Slack sends it (authorizations, context team, event_context): mostly
    reactions that do nothing here, some 📌 outside any swarm channel (the message is read, nothing logged)
    and Home tab openings (the Home view is built and published) — both after the ack. `idle`: only the
    reactions that do nothing (what the ack path alone costs). `only`: "home" or "pin", that kind alone."""
    user = rng.choice(USERS)
    ts = f"{1700000000 + rng.randint(0, 10**6)}.000100"
    roll = 1.0 if idle else {"home": 0.0, "pin": 0.25}.get(only or "", rng.random())
    if roll < 0.2:
        event: dict[str, object] = {"type": "app_home_opened", "user": user, "channel": "D0001", "tab": "home",
                                    "event_ts": ts}
    else:
        event = {"type": "reaction_added", "user": user, "reaction": "pushpin" if roll < 0.3 else rng.choice(EMOJI),
                 "item": {"type": "message", "channel": "C0001", "ts": ts}, "item_user": rng.choice(USERS),
                 "event_ts": ts}
    return json.dumps({"token": "t", "team_id": "T0001", "context_team_id": "T0001", "context_enterprise_id": None,
                       "api_app_id": "A0001", "event": event, "type": "event_callback", "event_id": f"Ev{rid[:20]}",
                       "event_time": int(time.time()), "authorizations": [
                           {"enterprise_id": None, "team_id": "T0001", "user_id": "UBOT", "is_bot": True,
                            "is_enterprise_install": False}],
                       "is_ext_shared_channel": False, "event_context": f"4-{rid}"})


def request_body(rng: random.Random, deals: int, mix: str, rid: str) -> str:
    if mix in EVENT_MIXES:
        return event_body(rng, rid, idle=mix == "idle", only=mix if mix in ("home", "pin") else None)
    user = rng.choice(USERS)
    d = rng.randint(1, deals)
    response_url = f"{FAKE}/response/{rid}"
    trigger = f"{time.time():.6f}.{rid}"
    if mix == "write" and rng.random() < 0.3:
        payload = {"type": "block_actions", "user": {"id": user, "username": user, "team_id": "T0001"},
                   "api_app_id": "A0001", "token": "t", "trigger_id": trigger,
                   "team": {"id": "T0001", "domain": "bench"}, "container": {"type": "message", "message_ts": "1.1",
                   "channel_id": "C0001", "is_ephemeral": True}, "channel": {"id": "C0001", "name": "sales"},
                   "response_url": response_url, "state": {"values": {}},
                   "actions": [{"type": "button", "action_id": "deal.advance", "block_id": f"actions:D-{d}",
                                "value": f"D-{d}", "text": {"type": "plain_text", "text": "Advance"},
                                "action_ts": f"{time.time()}"}]}
        return "payload=" + quote(json.dumps(payload))
    if mix == "read":
        text = rng.choice([f"deal D-{d}", f"deal D-{d}", "my"])
    else:
        text = rng.choice([f"log D-{d} call bench call {rng.randint(1, 10**6)}", f"advance D-{d}"])
    return urlencode({"token": "t", "team_id": "T0001", "team_domain": "bench", "channel_id": "C0001",
                      "channel_name": "sales", "user_id": user, "user_name": user, "command": "/crm", "text": text,
                      "api_app_id": "A0001", "response_url": response_url, "trigger_id": trigger})


def quantiles(xs: list[float]) -> tuple[float, float]:
    if not xs:
        return float("nan"), float("nan")
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=100) if len(xs) > 1 else [xs[0]] * 99
    return q[49] * 1000, q[98] * 1000


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of a process and its children so far, from /proc (Linux); None elsewhere.
    Steadier than a rate on a shared machine: what each request cost the server, whatever else ran."""
    total = 0.0
    pids, seen = [pid], set()
    try:
        tick = os.sysconf("SC_CLK_TCK")
        while pids:
            p = pids.pop()
            if p in seen:
                continue
            seen.add(p)
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            children = Path(f"/proc/{p}/task/{p}/children")
            if children.exists():
                pids.extend(int(c) for c in children.read_text().split())
    except (OSError, ValueError, AttributeError):
        return None
    return total


def drive(url: str, users: int, seconds: float, deals: int, mix: str, floor: bool,
          server: int | None = None) -> dict[str, float]:
    """`users` people, each sending a request and waiting for its reply before the next; `server`: the pid
    whose CPU time per request is reported."""
    acks: list[float] = []
    replies: list[float] = []
    counts = {"errors": 0, "inline": 0, "late": 0, "lost": 0}
    lock = threading.Lock()
    stop = time.time() + seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=30) as client:
            while time.time() < stop:
                rid = uuid.uuid4().hex
                body = request_body(rng, deals, mix, rid)
                started = time.perf_counter()
                kind = "application/json" if mix in EVENT_MIXES else "application/x-www-form-urlencoded"
                r = client.post(url, content=body.encode(), headers=signed(body, kind))
                acked = time.perf_counter()
                inline = r.status_code == 200 and bool(r.content) and b'"blocks"' in r.content
                arrived: float | None = acked
                if mix in EVENT_MIXES:
                    inline = True  # an event's answer is its ack
                elif not floor and not inline and r.status_code == 200:
                    arrived = REPLIES.wait(rid, REPLY_TIMEOUT)
                with lock:
                    acks.append(acked - started)
                    if r.status_code != 200:
                        counts["errors"] += 1
                    elif arrived is None:
                        counts["lost"] += 1
                    else:
                        replies.append(arrived - started)
                        counts["inline" if inline else "late"] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(users)]
    cpu0 = cpu_seconds(server) if server else None
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    if not floor:
        time.sleep(0.5)  # the work after the last acks is part of what the requests cost
    cpu1 = cpu_seconds(server) if server else None
    cpu = (cpu1 - cpu0) * 1000 / max(len(acks), 1) if cpu0 is not None and cpu1 is not None else float("nan")
    a50, a99 = quantiles(acks)
    r50, r99 = quantiles(replies)
    return {"acks": len(acks) / wall, "ack50": a50, "ack99": a99, "replies": len(replies) / wall,
            "rep50": r50, "rep99": r99, "cpu": cpu, **counts}


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,32", help="users waiting for replies, comma-separated")
    parser.add_argument("--mixes", default="read,write")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--repeats", type=int, default=1, help="alternate chatcrm and the floor this many times")
    parser.add_argument("--workers", type=int, default=1, help="chatcrm serve --workers (PostgreSQL only for > 1)")
    parser.add_argument("--pg", help="PostgreSQL URL for chatcrm (its tables are dropped and recreated)")
    args = parser.parse_args()
    fake = ThreadingHTTPServer(("127.0.0.1", 0), FakeSlack)
    fake.daemon_threads = True
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    global FAKE
    FAKE = f"http://127.0.0.1:{fake.server_address[1]}"
    tmp = Path(tempfile.mkdtemp(prefix="chatcrm-ack-"))
    db = args.pg or f"sqlite:///{tmp / 'bench.db'}"
    env = {**os.environ, "DATABASE_URL": db, "SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_API_URL": f"{FAKE}/api/", "CHATCRM_EMBEDDED_WORKERS": "0"}
    for k in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "CHATCRM_CONFIG"):
        env.pop(k, None)
    if args.pg:
        subprocess.run([sys.executable, "-c", "from sqlalchemy import text\nfrom crm_core.db import make_engine\n"
                        f"e=make_engine({args.pg!r})\nwith e.begin() as c: c.execute(text('DROP SCHEMA public CASCADE; "
                        "CREATE SCHEMA public'))"], cwd=ROOT, check=True)
    subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--leads", "300"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    p1, p2 = free_port(), free_port()
    crm = start([sys.executable, "-m", "bot.cli", "serve", "--port", str(p1), "--host", "127.0.0.1",
                 "--workers", str(args.workers)], env, tmp / "crm.log")
    bare = start([sys.executable, "-m", "uvicorn", "bench.bare_bolt:api", "--port", str(p2), "--workers", "1",
                  "--log-level", "warning"], env, tmp / "bare.log")
    results: dict[tuple[str, int], tuple[list[dict[str, float]], list[dict[str, float]]]] = {}
    try:
        wait_up(f"http://127.0.0.1:{p1}/slack/events")
        wait_up(f"http://127.0.0.1:{p2}/slack/events")
        drive(f"http://127.0.0.1:{p1}/slack/events", 4, 2, 60, "read", False)  # warm up: imports, caches
        for mix in args.mixes.split(","):
            for level in [int(x) for x in args.levels.split(",")]:
                ours, base = results.setdefault((mix, level), ([], []))
                for _ in range(args.repeats):
                    ours.append(drive(f"http://127.0.0.1:{p1}/slack/events", level, args.seconds, 60, mix, False,
                                      crm.pid))
                    base.append(drive(f"http://127.0.0.1:{p2}/slack/events", level, args.seconds, 60, mix, True,
                                      bare.pid))
    finally:
        for p in (crm, bare):
            p.terminate()
            p.wait(timeout=20)
        fake.shutdown()

    def med(rs: list[dict[str, float]], k: str) -> float:
        return statistics.median(r[k] for r in rs)

    where = "PostgreSQL" if args.pg else "SQLite"
    print(f"\nSlack request → ack → reply on loopback ({where}, chatcrm serve --workers {args.workers}), "
          f"{args.seconds:.0f} s per run, median of {args.repeats}; floor = bench/bare_bolt.py (acks only)")
    print(f"{'mix':<6}{'users':>6} | {'acks/s':>8}{'floor':>8}{'ratio':>7} | {'ack p50':>8}{'floor':>7}{'ratio':>7}"
          f" | {'replies/s':>9}{'ratio':>7} | {'reply p50':>9}{'p99':>8}{'ratio':>7} | {'inline':>7}{'late':>6}"
          f"{'lost':>5}{'non-200':>8} | {'cpu/req':>7}{'floor':>6}{'ratio':>7}")
    for (mix, level), (ours, base) in results.items():
        b_rps, b50 = med(base, "acks"), med(base, "ack50")
        o_rps, o50, rps, r50, r99 = (med(ours, k) for k in ("acks", "ack50", "replies", "rep50", "rep99"))
        print(f"{mix:<6}{level:>6} | {o_rps:>8.1f}{b_rps:>8.1f}{o_rps / b_rps:>7.2f} | {o50:>8.2f}{b50:>7.2f}"
              f"{b50 / o50:>7.2f} | {rps:>9.1f}{rps / b_rps:>7.2f} | {r50:>9.2f}{r99:>8.1f}{b50 / r50:>7.2f} | "
              f"{med(ours, 'inline'):>7.0f}{med(ours, 'late'):>6.0f}{med(ours, 'lost'):>5.0f}{med(ours, 'errors'):>8.0f}"
              f" | {med(ours, 'cpu'):>7.2f}{med(base, 'cpu'):>6.2f}{med(base, 'cpu') / med(ours, 'cpu'):>7.2f}")
    print("ms; ratio = chatcrm / floor for rates, floor / chatcrm for latencies (1.00 = as fast as the floor). "
          "The floor's reply is its ack (it does no work).\ninline = answered in the HTTP response; late = answered "
          "through response_url after the ack; lost = no answer within 30 s.\ncpu/req = the server's CPU time "
          "(ms, user + system, from /proc; nan elsewhere) per request, including the work after its ack.")
    print(f"logs: {tmp}")


if __name__ == "__main__":
    main()
