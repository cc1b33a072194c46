// Certificate material as files in a directory (ca.crt, tls.crt, tls.key), the layout of a
// mounted kubernetes.io/tls Secret. Used by the CLI and by local/e2e runs with --cert-dir.

import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CertificateMaterial } from './material.js';
import { SecretKeys } from './secret.js';

/** Writes ca.crt, tls.crt and tls.key (0600); the CA key only when `includeCAKey`. */
export async function writeCertificateDir(
  dir: string,
  material: CertificateMaterial,
  options: { includeCAKey?: boolean } = {},
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: Array<[string, string, number]> = [
    [SecretKeys.caCert, material.caCertPEM, 0o644],
    [SecretKeys.cert, material.certPEM, 0o644],
    [SecretKeys.key, material.keyPEM, 0o600],
  ];
  if (options.includeCAKey === true && material.caKeyPEM !== undefined) {
    files.push([SecretKeys.caKey, material.caKeyPEM, 0o600]);
  }
  for (const [name, content, mode] of files) {
    const path = join(dir, name);
    await writeFile(path, content, { mode });
    await chmod(path, mode); // writeFile's mode only applies to newly created files
  }
  return files.map(([name]) => join(dir, name));
}

/** Reads tls.crt and tls.key (required) and ca.crt / ca.key (optional) from `dir`. */
export async function readCertificateDir(dir: string): Promise<CertificateMaterial> {
  const optional = async (name: string): Promise<string | undefined> => {
    try {
      return await readFile(join(dir, name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  const [certPEM, keyPEM, caCertPEM, caKeyPEM] = await Promise.all([
    readFile(join(dir, SecretKeys.cert), 'utf8'),
    readFile(join(dir, SecretKeys.key), 'utf8'),
    optional(SecretKeys.caCert),
    optional(SecretKeys.caKey),
  ]);
  return {
    caCertPEM: caCertPEM ?? '',
    ...(caKeyPEM === undefined ? {} : { caKeyPEM }),
    certPEM,
    keyPEM,
  };
}
