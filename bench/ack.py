"""Slack ack latency: `chatcrm serve` against a bare Bolt app that only acks, both on loopback.

    python bench/ack.py                      # SQLite; levels 1, 8, 32; 8 s per level
    python bench/ack.py --seconds 15 --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench

Both servers run under uvicorn with one worker. A local fake Slack Web API (its own thread) answers every
call. Requests are signed exactly as Slack signs them: a mix of `/crm deal D-n`, `/crm log D-n call …`,
`/crm advance D-n` and "advance" button clicks (block_actions). Prints requests/s, p50, p99 and max latency
per concurrency level for both, and the ratio chatcrm / bare Bolt (p50). Not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
USERS = ["U01LI", "U01HAN", "U01EMMA", "U01TOM"]


class FakeSlack(BaseHTTPRequestHandler):
    replies = 0  # answers posted to response_url: the work done after the acks
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        method = self.path.rsplit("/", 1)[-1]
        if method == "response":
            with FakeSlack.lock:
                FakeSlack.replies += 1
        body: dict[str, object] = {"ok": True}
        if method == "auth.test":
            body.update(user_id="UBOT", bot_id="BBOT", team_id="T0001", team="bench")
        elif method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            body.update(channel="D0001", ts=f"{time.time():.6f}")
        elif method == "users.info":
            body.update(user={"id": "U0", "name": "bench", "real_name": "Bench User"})
        data = json.dumps(body).encode()
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


RESPONSE_URL = "http://127.0.0.1:9/response"  # replaced by the fake's address in main()


def request_body(rng: random.Random, deals: int) -> str:
    user = rng.choice(USERS)
    d = rng.randint(1, deals)
    kind = rng.random()
    if kind < 0.2:
        payload = {"type": "block_actions", "user": {"id": user, "username": user, "team_id": "T0001"},
                   "api_app_id": "A0001", "token": "t", "trigger_id": f"{time.time()}.1.x",
                   "team": {"id": "T0001", "domain": "bench"}, "container": {"type": "message", "message_ts": "1.1",
                   "channel_id": "C0001", "is_ephemeral": True}, "channel": {"id": "C0001", "name": "sales"},
                   "response_url": RESPONSE_URL, "state": {"values": {}},
                   "actions": [{"type": "button", "action_id": "deal.advance", "block_id": f"actions:D-{d}",
                                "value": f"D-{d}", "text": {"type": "plain_text", "text": "Advance"},
                                "action_ts": f"{time.time()}"}]}
        return "payload=" + quote(json.dumps(payload))
    text = rng.choice([f"deal D-{d}", f"log D-{d} call bench call {rng.randint(1, 10**6)}", f"advance D-{d}",
                       f"deal D-{d}", "my"])
    return urlencode({"token": "t", "team_id": "T0001", "team_domain": "bench", "channel_id": "C0001",
                      "channel_name": "sales", "user_id": user, "user_name": user, "command": "/crm", "text": text,
                      "api_app_id": "A0001", "response_url": RESPONSE_URL,
                      "trigger_id": f"{time.time()}.1.x"})


def drive(url: str, concurrency: int, seconds: float, deals: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.time() + seconds

    def worker(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        with httpx.Client(timeout=30) as client:
            while time.time() < stop:
                body = request_body(rng, deals)
                started = time.perf_counter()
                r = client.post(url, content=body.encode(), headers=signed(body, "application/x-www-form-urlencoded"))
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if r.status_code != 200:
                        errors += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return {"rps": len(latencies) / wall, "p50": q[49] * 1000, "p99": q[98] * 1000, "max": latencies[-1] * 1000,
            "n": len(latencies), "errors": errors}


def settle(count: "callable[[], int]", quiet: float = 1.0, limit: float = 120) -> None:  # type: ignore[valid-type]
    """Wait until the work queued after the acks is done (no new replies for `quiet` seconds)."""
    deadline = time.time() + limit
    last = count()
    while time.time() < deadline:
        time.sleep(quiet)
        now = count()
        if now == last:
            return
        last = now


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--pg", help="PostgreSQL URL for chatcrm (its tables are dropped and recreated)")
    args = parser.parse_args()
    fake = ThreadingHTTPServer(("127.0.0.1", 0), FakeSlack)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    global RESPONSE_URL
    api_url = f"http://127.0.0.1:{fake.server_address[1]}/api/"
    RESPONSE_URL = f"http://127.0.0.1:{fake.server_address[1]}/response"
    tmp = Path(tempfile.mkdtemp(prefix="chatcrm-ack-"))
    db = args.pg or f"sqlite:///{tmp / 'bench.db'}"
    env = {**os.environ, "DATABASE_URL": db, "SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_API_URL": api_url, "CHATCRM_EMBEDDED_WORKERS": "0"}
    for k in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "CHATCRM_CONFIG"):
        env.pop(k, None)
    if args.pg:
        subprocess.run([sys.executable, "-c", "from sqlalchemy import text\nfrom crm_core.db import make_engine\n"
                        f"e=make_engine({args.pg!r})\nwith e.begin() as c: c.execute(text('DROP SCHEMA public CASCADE; "
                        "CREATE SCHEMA public'))"], cwd=ROOT, check=True)
    subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--leads", "300"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    p1, p2 = free_port(), free_port()
    crm = start([sys.executable, "-m", "bot.cli", "serve", "--port", str(p1), "--host", "127.0.0.1"], env, tmp / "crm.log")
    bare = start([sys.executable, "-m", "uvicorn", "bench.bare_bolt:api", "--port", str(p2), "--workers", "1",
                  "--log-level", "warning"], env, tmp / "bare.log")
    try:
        wait_up(f"http://127.0.0.1:{p1}/slack/events")
        wait_up(f"http://127.0.0.1:{p2}/slack/events")
        rows = []
        for level in [int(x) for x in args.levels.split(",")]:
            before = FakeSlack.replies
            ours = drive(f"http://127.0.0.1:{p1}/slack/events", level, args.seconds, deals=60)
            ours["answered"] = (FakeSlack.replies - before) / args.seconds  # replies/s delivered meanwhile
            settle(lambda: FakeSlack.replies)
            base = drive(f"http://127.0.0.1:{p2}/slack/events", level, args.seconds, deals=60)
            base["answered"] = float("nan")
            rows.append((level, ours, base))
    finally:
        for p in (crm, bare):
            p.terminate()
            p.wait(timeout=10)
        fake.shutdown()
    print(f"\nSlack request → ack on loopback ({'PostgreSQL' if args.pg else 'SQLite'}), {args.seconds:.0f} s per level")
    print(f"{'conc':>4} | {'app':<9}{'acks/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'non-200':>8}"
          f"{'replies/s':>10} | ratio p50")
    for level, ours, base in rows:
        for name, r in (("chatcrm", ours), ("bare", base)):
            answered = "" if name == "bare" else f"{r['answered']:.1f}"
            print(f"{level:>4} | {name:<9}{r['rps']:>8.1f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['max']:>9.1f}"
                  f"{r['errors']:>8}{answered:>10}" + (f" | {ours['p50'] / base['p50']:.2f}" if name == "bare" else " |"))
    print("replies/s: answers chatcrm posted to response_url during the level (the work after the acks; "
          "the bare app does no work)")
    print(f"logs: {tmp}")


if __name__ == "__main__":
    main()
