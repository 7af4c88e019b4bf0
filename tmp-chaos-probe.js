process.env.RAGMESH_E2E_NAME = 'chaos_probe'; process.env.RAGMESH_E2E_PORT_OFFSET = '50'; process.env.RAGMESH_DIST = process.env.RAGMESH_DIST || 'dist-chaos';
require('./bench/lib/register-ts');
const { execSync } = require('child_process');
const { RabbitNode, CallbackReceiver } = require('@ragmesh/testing');
const { startMesh, E2E_PORTS } = require('./test/e2e/harness');
const { jobsMeshEnv, feedbackRequest, postPaced } = require('./test/e2e/jobs-support');
(async () => {
  const node = await RabbitNode.start({ name: 'probe' });
  const receiver = await CallbackReceiver.start();
  const mesh = await startMesh(jobsMeshEnv(node.url, { LOG_LEVEL: 'warn', ...JSON.parse(process.env.EXTRA || '{}') }));
  try {
    const t0 = Date.now();
    const p = postPaced(mesh.gatewayUrl, 400, { perSecond: 100, concurrency: 16, body: (i) => feedbackRequest('m' + i, receiver.url('/x')) });
    for (let k = 0; k < 4; k++) {
      await new Promise((r) => setTimeout(r, 2500));
      const m = await (await fetch(`http://127.0.0.1:${E2E_PORTS.feedbackOps}/metrics`)).text();
      console.log(m.split('\n').filter((l) => l.startsWith('ragmesh_db_pool')).join('\n'));
      console.log(execSync(`psql -h 127.0.0.1 -U postgres -Atc "select state, wait_event, left(query,50), count(*) from pg_stat_activity where datname='chaos_probe' and query like '%feedback.%' group by 1,2,3 order by 4 desc" postgres`).toString());
    }
    const ids = await p.done;
    await receiver.waitForJobs(ids, 300000);
    console.log('jobs/s', (400 / ((Date.now() - t0) / 1000)).toFixed(1));
  } finally { await mesh.stop(); await receiver.close(); await node.dispose(); }
})();
