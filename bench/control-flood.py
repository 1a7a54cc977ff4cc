#!/usr/bin/env python3
"""Control-socket flood: N connections that never send a byte, all held open at once, against a real
`actorvmm run` (the hardening finding: about 20 000 of them made the host's runtime abort).

One process may hold only as many sockets as its descriptor limit (20 000 on the development
machine), so W worker processes share the N connections. Prints how long connecting took, what the
host did with the connections (refused at once, still served, closed after the idle timeout),
its resident memory before and at the peak, and whether it survived and still answers `list`.

    bench/control-flood.py              N = 20000, W = 2
    bench/control-flood.py 40000 4      other sizes
"""
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = os.path.join(ROOT, "src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll")
SPINNER = bytes([0xE6, 0x80, 0xEB, 0xFC])  # out 0x80, al; jmp back: a guest that never ends
CONNECT_WAIT = 10.0


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def connect(path):
    """Connects as a patient client: a full listen backlog (EAGAIN) is retried until CONNECT_WAIT."""
    deadline = time.monotonic() + CONNECT_WAIT
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.setblocking(False)
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > deadline:
                return None
            time.sleep(0.001)
        except OSError:
            s.close()
            return None


def classify(s):
    try:
        answer = s.recv(512).decode("utf-8", "replace")  # the socket is non-blocking
    except BlockingIOError:
        return "served"
    except OSError:
        return "other"
    if "too many control connections" in answer:
        return "refused"
    if "no request for" in answer:
        return "idle"
    return "other"


def worker(path, count, connected, go_classify, results, go_release):
    sockets, failures = [], 0
    for _ in range(count):
        s = connect(path)
        if s is None:
            failures += 1
        else:
            sockets.append(s)
    connected.put(failures)
    go_classify.wait()
    counts = {"refused": 0, "idle": 0, "served": 0, "other": 0}
    for s in sockets:
        counts[classify(s)] += 1
    results.put(counts)
    go_release.wait()
    for s in sockets:
        s.close()


def request(path, line):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall((line + "\n").encode())
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
        return json.loads(answer) if answer else None


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    subprocess.run(["dotnet", "build", os.path.join(ROOT, "src/ActorVmm.Host"), "-c", "Release", "-nologo", "-v", "quiet", "-clp:ErrorsOnly"],
                   check=True, stdout=sys.stderr)
    runtime = tempfile.mkdtemp(prefix="actorvmm-flood-")
    image = os.path.join(runtime, "spin.bin")
    with open(image, "wb") as f:
        f.write(SPINNER)
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime, DOTNET_CLI_TELEMETRY_OPTOUT="1")
    host = subprocess.Popen(["dotnet", PROGRAM, "run", "--image", image, "--mem", "1M", "--backend", "emulator", "--name", "flood", "--console", "none"],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    path = os.path.join(runtime, "actorvmm", f"{host.pid}.sock")
    deadline = time.monotonic() + 60
    while True:
        try:
            if request(path, '{"command":"list"}')["ok"]:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or host.poll() is not None:
            sys.exit("the host did not start")
        time.sleep(0.1)

    time.sleep(1)
    before = rss_bytes(host.pid)
    peak = before
    connected, results = mp.Queue(), mp.Queue()
    go_classify, go_release = mp.Event(), mp.Event()
    share = [total // workers + (1 if i < total % workers else 0) for i in range(workers)]
    procs = [mp.Process(target=worker, args=(path, n, connected, go_classify, results, go_release)) for n in share]
    start = time.monotonic()
    for p in procs:
        p.start()
    failures, reported = 0, 0
    while reported < workers:
        try:
            failures += connected.get(timeout=0.1)
            reported += 1
        except Exception:
            pass
        if host.poll() is None:
            peak = max(peak, rss_bytes(host.pid))
    elapsed = time.monotonic() - start
    alive_under_flood = host.poll() is None
    if alive_under_flood:
        peak = max(peak, rss_bytes(host.pid))
    go_classify.set()
    counts = {"refused": 0, "idle": 0, "served": 0, "other": 0}
    for _ in procs:
        for key, value in results.get().items():
            counts[key] += value
    go_release.set()
    for p in procs:
        p.join()

    listed = None
    if host.poll() is None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                listed = request(path, '{"command":"list"}')
                if listed and listed.get("ok"):
                    break
            except OSError:
                pass
            time.sleep(0.2)

    print(f"connections: {total} held at once by {workers} processes, opened in {elapsed:.1f} s; connect failures: {failures}")
    print(f"host answers: refused at once {counts['refused']}, still served {counts['served']}, closed after idle timeout {counts['idle']}, other {counts['other']}")
    print(f"host RSS: {before / 2**20:.0f} MiB before, {peak / 2**20:.0f} MiB at peak")
    print(f"host alive under the flood: {alive_under_flood}; answers list afterwards: {bool(listed and listed.get('ok'))}")
    if host.poll() is None:
        host.send_signal(signal.SIGINT)
        host.wait(30)
    else:
        print("host stderr:", host.stderr.read().decode(errors="replace")[-2000:])
    print(f"host exit code: {host.returncode}")


if __name__ == "__main__":
    main()
