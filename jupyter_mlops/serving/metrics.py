"""Service metrics in Prometheus' text format: requests by version and status, a latency histogram
(buckets from 0.5 ms), requests in progress, errors, and the prediction log's dropped rows."""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)  # (version, kind, status)
        self.errors: dict[str, int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = {}
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.latency_count: dict[str, int] = defaultdict(int)
        self.in_progress = 0

    def observe(self, version: str, status: int, seconds: float, shadow: bool = False) -> None:
        kind = "shadow" if shadow else "primary"
        with self._lock:
            self.requests[(version, kind, status)] += 1
            if status >= 500:
                self.errors[version] += 1
            if shadow:
                return
            counts = self.buckets.setdefault(version, [0] * len(BUCKETS))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.latency_sum[version] += seconds
            self.latency_count[version] += 1

    def render(self, dropped: int, queued: int) -> str:
        out = [
            "# HELP mlops_requests_total Requests answered, by model version, kind and HTTP status.",
            "# TYPE mlops_requests_total counter",
        ]
        with self._lock:
            for (version, kind, status), count in sorted(self.requests.items()):
                out.append(
                    f'mlops_requests_total{{version="{version}",kind="{kind}",status="{status}"}} {count}'
                )
            out += [
                "# HELP mlops_errors_total Requests that failed in the model (5xx).",
                "# TYPE mlops_errors_total counter",
            ]
            out += [f'mlops_errors_total{{version="{v}"}} {n}' for v, n in sorted(self.errors.items())]
            out += [
                "# HELP mlops_request_seconds Time from request to answer, by model version.",
                "# TYPE mlops_request_seconds histogram",
            ]
            for version, counts in sorted(self.buckets.items()):
                for bound, count in zip(BUCKETS, counts, strict=True):
                    out.append(f'mlops_request_seconds_bucket{{version="{version}",le="{bound}"}} {count}')
                total = self.latency_count[version]
                out.append(f'mlops_request_seconds_bucket{{version="{version}",le="+Inf"}} {total}')
                out.append(
                    f'mlops_request_seconds_sum{{version="{version}"}} {self.latency_sum[version]:.6f}'
                )
                out.append(f'mlops_request_seconds_count{{version="{version}"}} {total}')
            out += [
                "# HELP mlops_requests_in_progress Requests being answered now.",
                "# TYPE mlops_requests_in_progress gauge",
                f"mlops_requests_in_progress {self.in_progress}",
            ]
        out += [
            "# HELP mlops_prediction_log_dropped_total Logged predictions dropped: the queue was full.",
            "# TYPE mlops_prediction_log_dropped_total counter",
            f"mlops_prediction_log_dropped_total {dropped}",
            "# HELP mlops_prediction_log_queued Predictions waiting to be written.",
            "# TYPE mlops_prediction_log_queued gauge",
            f"mlops_prediction_log_queued {queued}",
        ]
        return "\n".join(out) + "\n"
