import { serviceToken } from '@ragmesh/contracts';
import type { NextFunction, Request, Response } from 'express';
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The query parameter of a dataset link a training job downloads without holding the admin token. */
export const DATASET_SIGNATURE_PARAM = 'sig';

const DATASET_PATH = /^\/v1\/admin\/datasets\/(\d+)\/examples\.jsonl$/u;
const BEARER = /^Bearer\s+(\S+)\s*$/iu;

/** REGISTRY_ADMIN_TOKEN, or the mesh's shared service token when it is unset. */
export function adminToken(configured: string, env: NodeJS.ProcessEnv = process.env): string {
  return configured || serviceToken(env);
}

/** Grants reading one dataset version, and nothing else: what the Ray job gets in its --dataset-url. */
export function datasetSignature(token: string, version: number): string {
  return createHmac('sha256', token).update(`dataset:${version}`).digest('hex');
}

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function signedDatasetRequest(req: Request, token: string): boolean {
  const version = DATASET_PATH.exec(req.path)?.[1];
  const sig = req.query[DATASET_SIGNATURE_PARAM];
  return req.method === 'GET' && version !== undefined && typeof sig === 'string' && sameSecret(sig, datasetSignature(token, Number(version)));
}

/**
 * Every route of the admin REST port needs `Authorization: Bearer <admin token>` (health and
 * metrics live on the ops port); a dataset download may instead carry its version's signature.
 */
export function adminAuth(token: string): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const bearer = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if ((bearer !== undefined && sameSecret(bearer, token)) || signedDatasetRequest(req, token)) return next();
    const message = bearer === undefined ? 'missing admin token: send Authorization: Bearer <REGISTRY_ADMIN_TOKEN>' : 'invalid admin token';
    res.status(401).setHeader('WWW-Authenticate', 'Bearer realm="model-registry"').json({ status: 'error', message, data: null });
  };
}
