import { describe, expect, it } from '@jest/globals';
import type { CertificateMaterial } from './material.js';
import { materialFromSecret, secretForMaterial } from './secret.js';

const MATERIAL: CertificateMaterial = {
  caCertPEM: 'CA CERT\n',
  caKeyPEM: 'CA KEY\n',
  certPEM: 'CERT\n',
  keyPEM: 'KEY\n',
};

describe('secretForMaterial / materialFromSecret', () => {
  it('round-trips through base64 data under the kubernetes.io/tls keys', () => {
    const secret = secretForMaterial(MATERIAL, { namespace: 'ns', name: 'tls' });
    expect(secret).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls' });
    expect(secret.metadata).toMatchObject({ name: 'tls', namespace: 'ns' });
    expect(secret.data?.['tls.crt']).toBe(Buffer.from('CERT\n').toString('base64'));
    expect(materialFromSecret(secret)).toEqual({ ok: true, material: MATERIAL });
  });

  it('omits ca.key when the material has none', () => {
    const { caKeyPEM: _omitted, ...external } = MATERIAL;
    const secret = secretForMaterial(external, { namespace: 'ns', name: 'tls' });
    expect(Object.keys(secret.data ?? {})).not.toContain('ca.key');
    expect(materialFromSecret(secret)).toEqual({ ok: true, material: external });
  });

  it('keeps the base Secret’s metadata, type, resourceVersion and unrelated data', () => {
    const secret = secretForMaterial(
      MATERIAL,
      { namespace: 'ns', name: 'tls' },
      {
        metadata: {
          name: 'tls',
          resourceVersion: '42',
          annotations: { a: 'b' },
          labels: { x: 'y' },
        },
        type: 'Opaque',
        data: { extra: 'ZQ==', 'tls.crt': 'b2xk' },
      },
    );
    expect(secret.metadata).toMatchObject({
      resourceVersion: '42',
      annotations: { a: 'b' },
      labels: { x: 'y', 'app.kubernetes.io/managed-by': 'steerer' },
    });
    expect(secret.type).toBe('Opaque');
    expect(secret.data?.['extra']).toBe('ZQ==');
    expect(secret.data?.['tls.crt']).toBe(Buffer.from('CERT\n').toString('base64'));
  });

  it('reports missing or empty required keys', () => {
    expect(materialFromSecret({ data: { 'tls.crt': '' } })).toEqual({
      ok: false,
      missing: ['tls.crt', 'tls.key'],
    });
    expect(materialFromSecret({}, ['ca.crt'])).toEqual({ ok: false, missing: ['ca.crt'] });
  });
});
