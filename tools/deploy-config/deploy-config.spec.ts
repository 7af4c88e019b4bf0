import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_SERVICE_TOKEN } from '@ragmesh/contracts';
import { parse, parseAllDocuments } from 'yaml';
import { loadAppConfig as feedbackWorker, DEV_SIGNING_SECRET } from '../../apps/feedback-worker/src/config';
import { loadAppConfig as gateway } from '../../apps/gateway/src/config';
import { loadAppConfig as generationProxy } from '../../apps/generation-proxy/src/config';
import { loadAppConfig as modelRegistry } from '../../apps/model-registry/src/config';
import { loadAppConfig as retrieval } from '../../apps/retrieval/src/config';
import { loadAppConfig as summarizer } from '../../apps/summarizer/src/config';

/**
 * Every service's configuration loads with exactly the environment docker-compose.yml and the
 * Kubernetes manifests give it (production mode refuses development defaults), so a missing or
 * malformed setting fails here rather than as a crash-looping container.
 */

const ROOT = join(__dirname, '..', '..');
type Env = Record<string, string>;

const LOADERS: Record<string, (env: NodeJS.ProcessEnv) => unknown> = {
  gateway,
  retrieval,
  'generation-proxy': generationProxy,
  'feedback-worker': feedbackWorker,
  summarizer,
  'model-registry': modelRegistry,
};

/** The app an entry point runs: `dist/apps/<app>/src/main.js`. */
function appOf(entry: string[] | undefined): string | undefined {
  const main = entry?.find((a) => /^dist\/apps\/[^/]+\/src\/main\.js$/.test(a));
  return main?.split('/')[2];
}

/** The .env the compose file's header tells users to write (the same shapes, fresh values). */
function composeDotEnv(): Env {
  return {
    RAGMESH_SERVICE_TOKEN: randomBytes(24).toString('hex'),
    REGISTRY_ADMIN_TOKEN: randomBytes(24).toString('hex'),
    FEEDBACK_SIGNING_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    RAGMESH_BOOTSTRAP_API_KEY: `rgm_admin_${randomBytes(20).toString('hex')}`,
  };
}

class MissingVariable extends Error {}

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}. */
function interpolate(value: string, shell: Env): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?:(:?)([-?])([^}]*))?\}/g, (_all, name: string, colon: string, op: string, arg: string) => {
    const set = name in shell && (colon !== ':' || shell[name] !== '');
    if (set) return shell[name];
    if (op === '?') throw new MissingVariable(`${name}: ${arg}`);
    return op === '-' ? arg : '';
  });
}

interface ComposeService {
  command?: string[];
  environment?: Record<string, string | number>;
}

function composeServices(): [string, Record<string, string>][] {
  const doc = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  return Object.values(doc.services).flatMap((service) => {
    const app = appOf(service.command);
    if (!app) return [];
    const environment = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
    return [[app, environment] as [string, Record<string, string>]];
  });
}

function composeEnv(raw: Record<string, string>, shell: Env): Env {
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, interpolate(v, shell)]));
}

interface K8sDoc {
  kind: string;
  metadata: { name: string };
  data?: Env;
  stringData?: Env;
  spec?: { template: { spec: { containers: { args?: string[]; env?: { name: string; value?: string }[]; envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[] }[] } } };
}

function k8sDocs(file: string): K8sDoc[] {
  return parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'k8s', file), 'utf8'))
    .map((d) => d.toJSON() as K8sDoc | null)
    .filter((d): d is K8sDoc => d !== null);
}

function k8sServices(): [string, Env][] {
  const config = k8sDocs('config.yaml');
  const sources = (kind: string, name: string): Env => {
    const doc = config.find((d) => d.kind === kind && d.metadata.name === name);
    if (!doc) throw new Error(`deploy/k8s/config.yaml has no ${kind} ${name}`);
    return { ...(doc.data ?? {}), ...(doc.stringData ?? {}) };
  };
  return k8sDocs('services.yaml')
    .filter((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet')
    .map((d) => {
      const container = d.spec!.template.spec.containers[0];
      const env: Env = {};
      for (const from of container.envFrom ?? []) {
        if (from.configMapRef) Object.assign(env, sources('ConfigMap', from.configMapRef.name));
        if (from.secretRef) Object.assign(env, sources('Secret', from.secretRef.name));
      }
      for (const e of container.env ?? []) env[e.name] = e.value ?? '';
      const app = appOf(container.args);
      if (!app) throw new Error(`${d.kind} ${d.metadata.name} runs no dist/apps/<app>/src/main.js`);
      return [app, env] as [string, Env];
    });
}

describe('deployment configuration', () => {
  describe('docker-compose.yml', () => {
    const services = composeServices();

    it('runs each of the six services once', () => {
      expect(services.map(([app]) => app).sort()).toEqual(Object.keys(LOADERS).sort());
    });

    it.each(services.map(([app, raw]) => [app, raw]))('%s loads its configuration in production mode with the documented .env', (app, raw) => {
      const env = composeEnv(raw, composeDotEnv());
      expect(env.NODE_ENV).toBe('production');
      expect(() => LOADERS[app](env)).not.toThrow();
      expect(env.RAGMESH_SERVICE_TOKEN).not.toBe(DEV_SERVICE_TOKEN);
    });

    it('stops with a message naming the secret when the .env is missing', () => {
      const refused = services.map(([app, raw]) => {
        try {
          composeEnv(raw, {});
          return `${app}: started`;
        } catch (err) {
          return `${app}: ${(err as Error).message.split(':')[0]}`;
        }
      });
      expect(refused).toEqual(expect.arrayContaining(['feedback-worker: RAGMESH_SERVICE_TOKEN', 'gateway: RAGMESH_SERVICE_TOKEN']));
      expect(refused.every((r) => !r.endsWith('started'))).toBe(true);
      const [, worker] = services.find(([app]) => app === 'feedback-worker')!;
      expect(() => composeEnv(worker, { ...composeDotEnv(), FEEDBACK_SIGNING_SECRET: '' })).toThrow(/FEEDBACK_SIGNING_SECRET/);
    });
  });

  describe('deploy/k8s', () => {
    const services = k8sServices();

    it('deploys each of the six services once', () => {
      expect(services.map(([app]) => app).sort()).toEqual(Object.keys(LOADERS).sort());
    });

    it.each(services)('%s loads its configuration in production mode from the ConfigMap, Secret and its env', (app, env) => {
      expect(env.NODE_ENV).toBe('production');
      expect(() => LOADERS[app](env)).not.toThrow();
    });

    it('ships placeholders, not the development defaults, for every secret', () => {
      const [, worker] = services.find(([app]) => app === 'feedback-worker')!;
      expect(worker.FEEDBACK_SIGNING_SECRET).not.toBe(DEV_SIGNING_SECRET);
      expect(worker.RAGMESH_SERVICE_TOKEN).toBeTruthy();
      expect(worker.RAGMESH_SERVICE_TOKEN).not.toBe(DEV_SERVICE_TOKEN);
      const [, registry] = services.find(([app]) => app === 'model-registry')!;
      expect(registry.REGISTRY_ADMIN_TOKEN).toBeTruthy();
    });
  });

  it('the feedback-worker refuses the development signing secret in production (what this spec guards against)', () => {
    expect(() => feedbackWorker({ NODE_ENV: 'production' })).toThrow(/FEEDBACK_SIGNING_SECRET/);
  });
});
