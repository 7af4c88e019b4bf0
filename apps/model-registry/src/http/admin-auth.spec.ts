import { DEV_SERVICE_TOKEN } from '@ragmesh/contracts';
import { loadAppConfig } from '../config';
import { adminToken, datasetSignature } from './admin-auth';

describe('the registry admin token', () => {
  it('is REGISTRY_ADMIN_TOKEN, else the mesh service token, else the development token', () => {
    expect(loadAppConfig({ REGISTRY_ADMIN_TOKEN: 'admin-secret', RAGMESH_SERVICE_TOKEN: 'mesh-secret' }).adminToken).toBe('admin-secret');
    expect(loadAppConfig({ RAGMESH_SERVICE_TOKEN: 'mesh-secret' }).adminToken).toBe('mesh-secret');
    expect(adminToken('', {})).toBe(DEV_SERVICE_TOKEN);
  });

  it('signs each dataset version differently, and differently under another token', () => {
    const v1 = datasetSignature('t', 1);
    expect(v1).toMatch(/^[0-9a-f]{64}$/u);
    expect(datasetSignature('t', 2)).not.toBe(v1);
    expect(datasetSignature('u', 1)).not.toBe(v1);
  });
});
