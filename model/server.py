"""grand-challenge.org's invoke API: every region's model loaded once, each case served by ``POST /invoke``.

How the platform drives it (its adapter, sagemaker-shim): it starts the image's entrypoint once, polls
``GET /health`` on 127.0.0.1:4743 until it answers 200 (300 s in all, 10 s a call), then for every task fills
``/input``, empties ``/output`` and calls ``POST /invoke`` with no body: 201 means the task succeeded, anything
else that it failed. On teardown the process gets SIGTERM, then SIGKILL 5 s later.

``python process.py --serve`` runs it. Every ``/invoke`` is exactly the exec job (:func:`model.container.
process_folder`) on whatever ``/input`` holds at that moment - the same checks, time budget, staged outputs and
one-line errors - with the pipelines loaded at start-up instead of per process. Cases run one at a time, in the
main thread; each request is answered in a thread of its own, so ``/health`` answers while a case runs. SIGTERM
stops a running case where it is (its staged outputs are removed: nothing partial reaches ``/output``) and the
process exits.
"""
from __future__ import annotations

import gc
import json
import logging
import queue
import signal
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from model.cli import error_line
from model.container import load_every_model, process_folder
from model.registry import WeightsChoice

log = logging.getLogger("server")

HOST, PORT = "127.0.0.1", 4743  # where the adapter looks (its port setting never reaches the algorithm)


class Terminated(BaseException):
    """SIGTERM: raised in the main thread wherever it is (a BaseException, so that no case's error handling
    takes it for a failed case)."""


@dataclass
class Job:
    """One ``/invoke``: handed from its request's thread to the main thread, answered through ``done``."""

    done: threading.Event = field(default_factory=threading.Event)
    status: int = 500
    body: dict = field(default_factory=dict)


@dataclass
class Service:
    input_dir: Path
    output_dir: Path
    weights: WeightsChoice
    device_name: str = "auto"
    uncertainty_samples: int = 0
    time_budget: float | None = None
    loaded: dict = field(default_factory=dict)  # model folder -> its pipeline, from start-up on
    jobs: queue.Queue = field(default_factory=queue.Queue)

    def run_case(self) -> tuple[int, dict]:
        """Today's job on what the input folder holds now: 201 and its results, or a one-line error on stderr
        and 400 (the input) / 500 (anything else)."""
        try:
            results = process_folder(self.input_dir, self.output_dir, self.weights, self.device_name,
                                     self.uncertainty_samples, self.time_budget, loaded=self.loaded)
            return 201, {"results": results}
        except Exception as err:  # a failed case fails alone: the next one is served as usual
            line, is_input = error_line(err, catch_all=str(self.input_dir))
            print(line, file=sys.stderr, flush=True)
            return (400 if is_input else 500), {"error": line}
        finally:
            gc.collect()  # what the case held goes now, not with some later case


def handler_class(service: Service):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (the standard library's name)
            if self.path == "/health":
                self.reply(200, {"status": "ok"})
            else:
                self.reply(404, {"error": f"no {self.path}: GET /health, POST /invoke"})

        def do_POST(self):  # noqa: N802
            if self.path != "/invoke":
                self.reply(404, {"error": f"no {self.path}: GET /health, POST /invoke"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)  # the adapter sends none; a body is read and ignored
            job = Job()
            service.jobs.put(job)
            job.done.wait()
            self.reply(job.status, job.body)

        def reply(self, status: int, body: dict) -> None:
            data = (json.dumps(body) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # noqa: A002 (the standard library's signature)
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


def serve(service: Service, host: str = HOST, port: int = PORT) -> int:
    """Load every model, listen, run the cases as they come; 0 after SIGTERM."""
    service.loaded.update(load_every_model(service.weights, service.device_name))
    httpd = ThreadingHTTPServer((host, port), handler_class(service))
    httpd.daemon_threads = True
    listener = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)

    def terminate(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    listener.start()
    log.info("serving on %s:%d: GET /health, POST /invoke (%d model(s) loaded)", host, port, len(service.loaded))
    try:
        while True:
            job = service.jobs.get()
            job.status, job.body = service.run_case()
            job.done.set()
    except Terminated:
        log.info("SIGTERM: stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        httpd.shutdown()
        httpd.server_close()
    return 0
