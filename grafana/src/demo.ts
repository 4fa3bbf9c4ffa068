// The demo service the dashboards show: the entry of services.yml that renders the demo's rule
// templates (scripts/lib/services-templates.ts), whose metric names the panels are written
// for too. Its job, name and runbook base come from that entry, as in its rules, so the rules and
// dashboards follow an edit of services.yml; the demo's scrape job in prometheus/prometheus.yml,
// its compose service and the chart's objects for it are written by hand (docs/forking.md).
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { loadServices } from '../../scripts/lib/services.ts';
import { demoSelector, demoService } from '../../scripts/lib/services-templates.ts';

const services = loadServices(REPO_ROOT);
const demo = demoService(services);

/** The PromQL selector of the demo's own metrics (its scrape job). */
export const DEMO_SELECTOR = demoSelector(services);
/** Its OpenTelemetry service.name: its spans in Jaeger, its log stream in VictoriaLogs. */
export const DEMO_SERVICE_NAME = demo.name;
/** Where its alerts' runbooks are, without the trailing "/": <base>/<AlertName>.md. */
export const DEMO_RUNBOOKS_URL = demo.runbook_base.replace(/\/$/, '');
