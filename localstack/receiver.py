#!/usr/bin/env python3
"""The smoke flow's webhook receiver: listens on the host's loopback (the
emulator runs the deployed functions on the host), answers 503 to its first
`down` requests (third argument, default 0) and 204 after, and appends each
request (its Standard Webhooks headers, body and the status answered) as a
JSON line to the file named by its first argument. The port it took is
written to the file named by its second argument. `check` verifies what was
received (see check)."""
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(log_path, port_path, down):
    lock = threading.Lock()
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            rec = {h: self.headers.get(h, "") for h in ("webhook-id", "webhook-timestamp", "webhook-signature")}
            rec["body"] = body.decode("utf-8", "replace")
            rec["receivedAt"] = time.time()
            with lock:
                count[0] += 1
                rec["status"] = 503 if count[0] <= down else 204
                with open(log_path, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            self.send_response(rec["status"])
            self.end_headers()

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_path, "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()


def check(log_path, secret, want_types):
    """Exit 0 when every wanted type was acknowledged, every request's
    signature verifies under secret with a timestamp within 5 minutes, and
    no webhook-id was acknowledged twice; otherwise print why and exit 1
    (2: wanted types still missing)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    try:
        recs = [json.loads(l) for l in open(log_path)]
    except FileNotFoundError:
        recs = []
    seen, types = {}, {}
    for r in recs:
        mid, ts = r["webhook-id"], r["webhook-timestamp"]
        want = hmac.new(key, f"{mid}.{ts}.{r['body']}".encode(), hashlib.sha256).digest()
        sigs = [s.split(",", 1)[1] for s in r["webhook-signature"].split() if s.startswith("v1,")]
        if not any(hmac.compare_digest(base64.b64decode(s), want) for s in sigs):
            print(f"receiver: bad signature on {mid}")
            sys.exit(1)
        if abs(time.time() - int(ts)) > 300:
            print(f"receiver: timestamp {ts} of {mid} outside 5 minutes")
            sys.exit(1)
        ev = json.loads(r["body"])
        if ev["id"] != mid:
            print(f"receiver: body id {ev['id']} under webhook-id {mid}")
            sys.exit(1)
        if r["status"] >= 300:
            continue
        seen[mid] = seen.get(mid, 0) + 1
        types[ev["type"]] = types.get(ev["type"], 0) + 1
    dups = [m for m, n in seen.items() if n > 1]
    if dups:
        print(f"receiver: delivered twice: {dups}")
        sys.exit(1)
    missing = [t for t in want_types if t not in types]
    refused = sum(1 for r in recs if r["status"] >= 300)
    print(f"receiver: {len(recs)} requests ({refused} answered 503), all signed; {len(seen)} events acknowledged once each, types {json.dumps(types, sort_keys=True)}" + (f"; missing {missing}" if missing else ""))
    sys.exit(2 if missing else 0)


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4].split(","))
    else:
        serve(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
