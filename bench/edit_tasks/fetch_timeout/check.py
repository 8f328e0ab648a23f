"""fetch and fetch_json take a timeout, hand it to the transport, and the job passes 30.0."""

import json
import sys

sys.path.insert(0, sys.argv[1])

from sync.client import Response, TransientError, fetch, fetch_json
from sync.job import SyncJob


class Recording:
    def __init__(self, answers):
        self.answers = list(answers)
        self.timeouts = []

    def send(self, request, timeout):
        self.timeouts.append(timeout)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


ok = Response(200, json.dumps({"items": [{"id": 1, "title": " A ", "updated": "2024"}]}).encode())

transport = Recording([ok])
assert fetch(transport, "https://x/feed").status == 200
assert transport.timeouts == [10.0]

transport = Recording([TransientError("reset"), Response(503, b""), ok])
assert fetch(transport, "https://x/feed", timeout=2.5).status == 200
assert transport.timeouts == [2.5, 2.5, 2.5]

transport = Recording([ok])
assert fetch_json(transport, "https://x/feed", timeout=4.0)["items"][0]["id"] == 1
assert transport.timeouts == [4.0]

transport = Recording([ok, Response(500, b""), ok])
job = SyncJob(transport, ["https://a/feed", "https://b/feed", "https://c/feed"])
assert job.run() == {"https://a/feed": 1, "https://b/feed": 0, "https://c/feed": 0}
assert transport.timeouts == [30.0, 30.0, 30.0]
assert job.store.items["1"].title == "A"
