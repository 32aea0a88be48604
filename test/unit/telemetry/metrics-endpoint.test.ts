import assert from 'node:assert/strict';
import { AdminApi } from '../../../src/proxy/admin';
import { MetricsEndpoint } from '../../../src/proxy/metrics-endpoint';

describe('the metrics route', () => {
  it('takes exactly /_tollgate/metrics (with or without a query) and leaves every other admin path to the admin API', () => {
    for (const url of ['/_tollgate/metrics', '/_tollgate/metrics?x=1']) assert.ok(MetricsEndpoint.handles(url), url);
    for (const url of ['/_tollgate/metrics/', '/_tollgate/metricsx', '/_tollgate/metrics/../state', '/_tollgate/state', '/metrics', '/openai/_tollgate/metrics', undefined]) {
      assert.ok(!MetricsEndpoint.handles(url), String(url));
    }
    for (const url of ['/_tollgate/metrics/', '/_tollgate/metricsx']) assert.ok(AdminApi.handles(url), `${url} stays behind the admin token`);
  });
});
