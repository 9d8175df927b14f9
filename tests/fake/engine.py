#!/usr/bin/env python3
"""tests/fake/engine.py - a fake Docker Engine on a unix socket, for natrig's error paths
without Docker (tests/fake/fake_engine_test.lua starts one per case).

It answers what a bring-up calls (/version, /events, /containers/json, /networks,
/networks/create, /containers/create, start, exec, inspect, logs, removals) from an
in-memory state, plausibly enough for natrig's network and session code, and injects the
faults a case asks for.

usage: engine.py SOCKET LOG [RULES_JSON]
  LOG: one JSON line per request {"method","path","query","status","id"?}, flushed at once;
       a line {"state": {"containers": [...], "networks": [...]}} after every change.
  RULES_JSON: a list of faults, each {"method", "path" (a regex on the path without the
       /vX.Y prefix), "name" (optional regex on the ?name= query), "nth" (1 = the first
       matching request, default every one), "action": one of
         "status" (answer "status" with {"message": "message"}),
         "drop"   (close the connection without an answer),
         "partial" (headers promising a body, half of it, then close),
       A network create whose subnet overlaps an existing network's is refused as the engine
       does (403 "Pool overlaps with other one on this address space"); its record holds
       "subnets".
         "slow"   (wait "seconds", then answer normally)}
  Endpoint deletions (a disconnect, a container removal) in flight on the same network at
  once are what Docker 20.10 loses count on (natrig.teardown): each such request's record
  holds "overlap" (the network's name), so a slow rule on them shows whether natrig ever
  sends two at once.
"""
import ipaddress
import json
import os
import re
import socketserver
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

SOCK, LOG = sys.argv[1], sys.argv[2]
RULES = json.loads(sys.argv[3]) if len(sys.argv) > 3 else []
for r in RULES:
    r["seen"] = 0

lock = threading.RLock()  # reentrant: a reply (which logs) may be sent while it is held
containers = {}  # id -> {"Id", "Name", "Labels", "Networks": {name: ip}, "State"}
networks = {}  # id -> {"Id", "Name", "Labels", "IPAM"}
deleting = {}  # network name -> endpoint deletions in flight on it
logf = open(LOG, "a", buffering=1)


def log(rec):
    with lock:
        logf.write(json.dumps(rec) + "\n")


def log_state():
    log({"state": {"containers": sorted(containers), "networks": sorted(networks)}})


def new_id():
    return uuid.uuid4().hex + uuid.uuid4().hex


def find(table, ref):
    if ref in table:
        return ref
    for i, o in table.items():
        if o["Name"].lstrip("/") == ref or i.startswith(ref):
            return i
    return None


def subnets(spec):
    return [c["Subnet"] for c in ((spec or {}).get("IPAM") or {}).get("Config") or [] if c.get("Subnet")]


def overlaps(spec):
    """What the engine refuses: a subnet overlapping one of an existing network."""
    want = [ipaddress.ip_network(s) for s in subnets(spec)]
    for o in networks.values():
        for s in subnets(o):
            if any(w.overlaps(ipaddress.ip_network(s)) for w in want):
                return True
    return False


def label_match(labels, filters):
    for want in filters.get("label", []):
        k, _, v = want.partition("=")
        if k not in labels or (v and labels[k] != v):
            return False
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def log_rec(self, status):
        """The request's record goes to the log before its answer leaves: a client holding
        the answer must find the record (a test read the log first under load)."""
        rec = getattr(self, "rec", None)
        if rec is not None and "status" not in rec:
            rec["status"] = status
            log(rec)

    def reply(self, status, body=None, ctype="application/json"):
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.release()
        self.log_rec(status)
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Api-Version", "1.41")
        self.end_headers()
        if data:
            self.wfile.write(data)
        self.status = status

    def error(self, status, message):
        self.reply(status, {"message": message})

    def stream_forever(self):
        """A streamed answer (events, log follows) that stays open until the client leaves."""
        self.log_rec(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        self.status = 200
        self.connection.settimeout(0.2)
        while True:
            try:
                if self.connection.recv(1) == b"":
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def handle_one(self):
        u = urllib.parse.urlsplit(self.path)
        path = re.sub(r"^/v[0-9.]+", "", u.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        self.status = 0
        rec = {"method": self.command, "path": path, "query": q}
        if path == "/networks/create" and raw:
            rec["subnets"] = subnets(json.loads(raw))
        self.rec = rec
        self.eps = self.endpoints(path)
        with lock:
            for name in self.eps:
                deleting[name] = deleting.get(name, 0) + 1
                if deleting[name] > 1:
                    rec["overlap"] = name
        try:
            self.handle_rules(path, q, raw, rec)
        finally:
            self.release()

    def release(self):
        """The deletion is over once its answer is decided: released before the answer
        leaves, or a client that got it could start the next on another connection while
        this thread still counted it (a false overlap, seen once in CI under load)."""
        with lock:
            for name in getattr(self, "eps", []):
                deleting[name] -= 1
            self.eps = []

    def endpoints(self, path):
        """The networks a request deletes an endpoint on (a disconnect, a container removal)."""
        with lock:
            if self.command == "DELETE" and re.fullmatch(r"/containers/[^/]+", path):
                i = find(containers, path.split("/")[2])
                return list(containers[i]["Networks"]) if i else []
            mt = re.fullmatch(r"/networks/([^/]+)/disconnect", path)
            if self.command == "POST" and mt:
                i = find(networks, mt.group(1))
                return [networks[i]["Name"]] if i else []
        return []

    def handle_rules(self, path, q, raw, rec):
        fault = None
        for r in RULES:
            if r.get("method", self.command) != self.command or not re.search(r["path"], path):
                continue
            if "name" in r and not re.search(r["name"], q.get("name", "")):
                continue
            r["seen"] += 1
            if r.get("nth") in (None, r["seen"]):
                fault = r
                break
        if fault:
            rec["fault"] = fault["action"]
            if fault["action"] == "status":
                self.error(fault["status"], fault["message"])
                return
            if fault["action"] == "drop":
                log(rec)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault["action"] == "partial":
                log(rec)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "200")
                self.end_headers()
                self.wfile.write(b'{"Id": "half')
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault["action"] == "slow":
                time.sleep(float(fault["seconds"]))
        body = json.loads(raw) if raw and self.headers.get("Content-Type") == "application/json" else None
        self.route(self.command, path, q, body, rec)
        self.log_rec(self.status)  # a route that sent nothing through reply()

    def route(self, m, path, q, body, rec):
        filters = json.loads(q["filters"]) if "filters" in q else {}
        if path == "/_ping":
            return self.reply(200, b"OK", "text/plain")
        if path == "/version":
            return self.reply(200, {"ApiVersion": "1.41", "MinAPIVersion": "1.12",
                                    "Version": "20.10.99-fake", "Os": "linux", "Arch": "amd64"})
        if path == "/info":
            return self.reply(200, {"Name": "fake", "ServerVersion": "20.10.99-fake",
                                    "Containers": len(containers)})
        if path == "/events":
            return self.stream_forever()
        if m == "GET" and re.fullmatch(r"/images/.+/json", path):
            return self.reply(200, {"Id": "sha256:" + "f" * 64, "RepoTags": [path[8:-5]]})
        if m == "GET" and path == "/networks":
            with lock:
                l = [dict(o) for o in networks.values() if label_match(o["Labels"], filters)]
            return self.reply(200, l)
        if m == "POST" and path == "/networks/create":
            with lock:
                if any(o["Name"] == body["Name"] for o in networks.values()):
                    return self.error(409, "network with name %s already exists" % body["Name"])
                if overlaps(body):
                    return self.error(403, "Pool overlaps with other one on this address space")
                i = new_id()
                networks[i] = {"Id": i, "Name": body["Name"], "Labels": body.get("Labels") or {},
                               "IPAM": body.get("IPAM") or {}, "Driver": "bridge"}
                rec["id"] = i
            log_state()
            return self.reply(201, {"Id": i, "Warning": ""})
        mt = re.fullmatch(r"/networks/([^/]+)(/connect|/disconnect)?", path)
        if mt:
            with lock:
                i = find(networks, mt.group(1))
                if not i:
                    return self.error(404, "network %s not found" % mt.group(1))
                net = networks[i]
                if m == "GET":
                    ctrs = {c: {"Name": o["Name"], "IPv4Address": ip + "/24"}
                            for c, o in containers.items()
                            for name, ip in o["Networks"].items() if name == net["Name"]}
                    return self.reply(200, dict(net, Containers=ctrs))
                if m == "DELETE":
                    if any(net["Name"] in o["Networks"] for o in containers.values()):
                        return self.error(403, "error while removing network: network %s id %s has "
                                          "active endpoints" % (net["Name"], i))
                    del networks[i]
                    rec["id"] = i
                    ok = True
                elif mt.group(2) == "/connect":
                    c = find(containers, body["Container"])
                    if not c:
                        return self.error(404, "No such container: %s" % body["Container"])
                    ip = ((body.get("EndpointConfig") or {}).get("IPAMConfig") or {}).get("IPv4Address", "")
                    containers[c]["Networks"][net["Name"]] = ip
                    ok = True
                else:
                    c = find(containers, body["Container"])
                    if not c or net["Name"] not in containers[c]["Networks"]:
                        return self.error(500, "container %s is not connected to network %s"
                                          % (body["Container"], net["Name"]))
                    del containers[c]["Networks"][net["Name"]]
                    ok = True
            if ok:
                log_state()
                return self.reply(204 if m == "DELETE" else 200)
        if m == "GET" and path == "/containers/json":
            with lock:
                # as the engine lists them: with their networks and network mode
                by_name = {n["Name"]: n["Id"] for n in networks.values()}
                l = [{"Id": i, "Names": [o["Name"]], "Labels": o["Labels"], "State": o["State"],
                      "HostConfig": {"NetworkMode": o.get("NetworkMode", "")},
                      "NetworkSettings": {"Networks": {n: {"NetworkID": by_name.get(n, "")}
                                                       for n in o["Networks"]}}}
                     for i, o in containers.items() if label_match(o["Labels"], filters)]
            return self.reply(200, l)
        if m == "POST" and path == "/containers/create":
            name = q.get("name", "")
            with lock:
                if name and any(o["Name"] == "/" + name for o in containers.values()):
                    return self.error(409, 'Conflict. The container name "/%s" is already in use' % name)
                i = new_id()
                nets = {}
                for nn, ep in ((body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).items():
                    nets[nn] = ((ep or {}).get("IPAMConfig") or {}).get("IPv4Address", "")
                mode = (body.get("HostConfig") or {}).get("NetworkMode", "")
                if mode and not mode.startswith("container:") and mode not in nets:
                    nets[mode] = ""
                containers[i] = {"Id": i, "Name": "/" + name, "Labels": body.get("Labels") or {},
                                 "Networks": nets, "State": "created", "NetworkMode": mode}
                rec["id"] = i
            log_state()
            return self.reply(201, {"Id": i, "Warnings": []})
        mt = re.fullmatch(r"/containers/([^/]+)(/[a-z]+)?", path)
        if mt:
            with lock:
                i = find(containers, mt.group(1))
                if not i:
                    return self.error(404, "No such container: %s" % mt.group(1))
                o = containers[i]
                op = mt.group(2)
                if m == "DELETE":
                    del containers[i]
                    rec["id"] = i
                elif op in ("/start", "/restart", "/unpause"):
                    o["State"] = "running"
                elif op in ("/stop", "/kill"):
                    o["State"] = "exited"
                elif op == "/pause":
                    o["State"] = "paused"
                elif op == "/json":
                    nets = {n: {"IPAddress": ip} for n, ip in o["Networks"].items()}
                    return self.reply(200, {"Id": i, "Name": o["Name"], "State": {
                        "Status": o["State"], "Running": o["State"] == "running"},
                        "Config": {"Labels": o["Labels"]},
                        "NetworkSettings": {"Networks": nets, "Ports": {}}})
                elif op == "/exec":
                    e = new_id()
                    return self.reply(201, {"Id": e})
                elif op == "/logs":
                    if q.get("follow") in ("1", "true"):
                        pass
                    else:
                        return self.reply(200, b"", "application/vnd.docker.raw-stream")
                elif op == "/wait":
                    return self.reply(200, {"StatusCode": 0})
                elif op == "/archive" and m == "PUT":
                    return self.reply(200)
                else:
                    return self.error(404, "page not found")
            if m == "GET" and op == "/logs":
                return self.stream_forever()
            log_state()
            return self.reply(204)
        if m == "POST" and re.fullmatch(r"/exec/[^/]+/start", path):
            return self.reply(200, b"", "application/vnd.docker.raw-stream")
        if m == "GET" and re.fullmatch(r"/exec/[^/]+/json", path):
            return self.reply(200, {"ExitCode": 0, "Running": False})
        return self.error(404, "page not found")

    def do_GET(self):
        self.handle_one()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 256  # several natrig runs at once, each with many calls in flight

    def get_request(self):
        conn, _ = self.socket.accept()
        return conn, ("fake", 0)


if os.path.exists(SOCK):
    os.unlink(SOCK)
srv = Server(SOCK, Handler)
log({"ready": True})
srv.serve_forever()
