"""OpenTelemetry for the example service: traces, metrics and logs over OTLP/HTTP to the Collector.

Set up in code rather than by `opentelemetry-instrument`, because metric Views (bucket boundaries,
the attributes a metric keeps) can only be given to the MeterProvider when it is made. Everything
else is read by the SDK from the standard variables: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
OTEL_EXPORTER_OTLP_ENDPOINT (and its per-signal forms), OTEL_TRACES_SAMPLER, OTEL_METRIC_EXPORT_INTERVAL,
OTEL_METRICS_EXEMPLAR_FILTER, OTEL_SDK_DISABLED. The instrumentations themselves (FastAPI, openai)
are the official packages, enabled in __main__.py.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass

from opentelemetry import _logs, metrics, trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

VERSION = "0.1.0"

# The same boundaries as the demo service's histograms (app/src/telemetry/metrics.ts, BUCKETS.http
# and telemetry/genai.ts), so that every SLO latency threshold (0.1, 0.25, 0.5, 1, 2, 5 s ...) is a
# bucket boundary here too and one query reads both services alike.
HTTP_SERVER_DURATION_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 2.5, 5, 10, 15, 20, 30,
)  # fmt: skip
# The GenAI conventions' advised boundaries: doublings from 10 ms, powers of 4 tokens.
GEN_AI_DURATION_BUCKETS = tuple(round(0.01 * 2**i, 2) for i in range(14))
GEN_AI_TOKEN_BUCKETS = tuple(4**i for i in range(14))
# The attributes the GenAI metrics keep: the demo's label keys. The instrumentation also records
# gen_ai.response.model, server.address and server.port; the spans keep those, the metrics do not,
# so that both services' series have the same label keys and no more series per provider host.
GEN_AI_KEYS = {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model"}


def views() -> list[View]:
    """Bucket boundaries and kept attributes of the HTTP server and GenAI client histograms."""
    return [
        View(
            instrument_name="http.server.request.duration",
            aggregation=ExplicitBucketHistogramAggregation(HTTP_SERVER_DURATION_BUCKETS),
        ),
        View(
            instrument_name="gen_ai.client.operation.duration",
            aggregation=ExplicitBucketHistogramAggregation(GEN_AI_DURATION_BUCKETS),
            attribute_keys=GEN_AI_KEYS | {"error.type"},
        ),
        View(
            instrument_name="gen_ai.client.token.usage",
            aggregation=ExplicitBucketHistogramAggregation(GEN_AI_TOKEN_BUCKETS),
            attribute_keys=GEN_AI_KEYS | {"gen_ai.token.type"},
        ),
    ]


@dataclass
class Telemetry:
    tracer_provider: TracerProvider | None
    meter_provider: MeterProvider | None
    logger_provider: LoggerProvider | None

    def shutdown(self) -> None:
        """Exports what is still queued (each provider within its exporter's timeout)."""
        for provider in (self.tracer_provider, self.meter_provider, self.logger_provider):
            if provider is not None:
                provider.shutdown()


def _disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def start() -> Telemetry:
    """Global tracer, meter and logger providers, and Python logging to stderr and OTLP."""
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if _disabled():
        logging.getLogger(__name__).info("OTEL_SDK_DISABLED=true: no telemetry is exported")
        return Telemetry(None, None, None)
    # One id per process, as the semantic conventions advise: Prometheus makes it the `instance`
    # of every pushed series, so that two replicas never write the same series.
    resource = Resource.create(
        {"service.instance.id": str(uuid.uuid4()), "service.version": VERSION}
    )
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)

    # Cumulative temporality (the SDK default): what Prometheus' OTLP receiver stores as is.
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource, views=views())
    metrics.set_meter_provider(meter_provider)

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    _logs.set_logger_provider(logger_provider)
    # Every record of the root logger also goes out as an OTLP log record, with the trace and
    # span ids of the span that was current when it was written.
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))
    return Telemetry(tracer_provider, meter_provider, logger_provider)
