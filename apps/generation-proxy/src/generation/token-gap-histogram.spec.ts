import { Histogram, Registry } from 'prom-client';
import { PerTokenHistogram } from './token-gap-histogram';

/** Label order is not part of the format: sort each line's labels. */
const normalized = (text: string): string =>
  text.replace(/\{([^}]*)\}/gu, (_m, labels: string) => `{${labels.split(',').sort().join(',')}}`);

describe('PerTokenHistogram', () => {
  it('renders exactly what a prom-client Histogram renders for the same observations', async () => {
    const bounds = [0.001, 0.01, 0.1];
    const light = new Registry();
    const reference = new Registry();
    light.setDefaultLabels({ service: 'generation-proxy' });
    reference.setDefaultLabels({ service: 'generation-proxy' });
    const mine = PerTokenHistogram.register(light, 'ragmesh_x_seconds', 'gaps', bounds);
    const theirs = new Histogram({ name: 'ragmesh_x_seconds', help: 'gaps', labelNames: ['upstream'], buckets: bounds, registers: [reference] });
    const values: [string, number][] = [['a:1', 0.0005], ['a:1', 0.02], ['a:1', 5], ['b:2', 0.01]];
    for (const [upstream, v] of values) {
      mine.child(upstream).observe(v);
      theirs.observe({ upstream }, v);
    }
    expect(normalized(await light.metrics())).toBe(normalized(await reference.metrics()));
    // Registering again by name returns the same instance (a second app in one process).
    expect(PerTokenHistogram.register(light, 'ragmesh_x_seconds', 'gaps', bounds)).toBe(mine);
    mine.remove('a:1');
    expect(await light.metrics()).not.toContain('upstream="a:1"');
  });
});
