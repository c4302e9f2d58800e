"""A local HTTP server on 127.0.0.1 that serves weights files in the URL layouts of their real hosts, so
that downloads run through keras.utils.get_file and huggingface_hub unchanged.

- keras.applications: `GET <keras.applications' URL path>` (e.g. /tensorflow/keras-applications/resnet/
  resnet50_weights_tf_dim_ordering_tf_kernels.h5), the file's bytes.
- the Hub: `HEAD|GET /<repo_id>/resolve/<revision>/<file>` answers as the Hub does for an LFS file: a 302
  to the blob with `X-Repo-Commit`, `X-Linked-Etag` (the sha256) and `X-Linked-Size`, which
  huggingface_hub reads; `GET /lfs/<sha256>` (on host "localhost", the CDN) gives the bytes and honours
  `Range` (huggingface_hub resumes a cut transfer with it).

Faults are queued per path: "cut" sends the headers of the whole file and half its bytes, then closes the
connection; "corrupt" sends as many bytes as the file has, some of them changed. `gets` counts the GETs.
"""

import collections
import hashlib
import http.server
import re
import threading

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class WeightsServer:
    def __init__(self):
        self.files, self.hub, self.faults, self.gets = {}, {}, collections.defaultdict(list), collections.Counter()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                server.answer(self, body=False)

            def do_GET(self):
                server.answer(self, body=True)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add_file(self, path, data):
        """Serve `data` at the URL path `path` (keras.applications' layout)."""
        self.files[path] = data

    def add_hub(self, repo_id, filename, data, revision="main"):
        """Serve `data` as `filename` of the Hub repo `repo_id`; returns the path of its blob (for faults)."""
        sha = hashlib.sha256(data).hexdigest()
        self.hub[f"/{repo_id}/resolve/{revision}/{filename}"] = sha
        self.files[f"/lfs/{sha}"] = data
        return f"/lfs/{sha}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, handler, body):
        path = handler.path.split("?")[0]
        if path in self.hub:
            sha = self.hub[path]
            handler.send_response(302)
            # The Hub sends an LFS file from another host (its CDN), which huggingface_hub does not follow on
            # HEAD: "localhost" is this server under another host name.
            cdn = self.url.replace("127.0.0.1", "localhost")
            for key, value in {
                "Location": f"{cdn}/lfs/{sha}",
                "X-Repo-Commit": COMMIT,
                "X-Linked-Etag": f'"{sha}"',
                "X-Linked-Size": str(len(self.files[f"/lfs/{sha}"])),
                "ETag": '"pointer"',
                "Content-Length": "0",
            }.items():
                handler.send_header(key, value)
            handler.end_headers()
            return
        if path not in self.files:
            handler.send_response(404)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        data = self.files[path]
        fault = self.faults[path].pop(0) if body and self.faults[path] else None
        if body:
            self.gets[path] += 1
        start = 0
        found = re.fullmatch(r"bytes=(\d+)-", handler.headers.get("Range", ""))
        if found and fault is None:
            start = int(found[1])
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            handler.send_response(200)
        handler.send_header("Content-Length", str(len(data) - start))
        handler.end_headers()
        if not body:
            return
        if fault == "cut":
            handler.wfile.write(data[: len(data) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            return
        if fault == "corrupt":
            middle = len(data) // 2
            data = data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :]
        handler.wfile.write(data[start:])
