import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';

/** The chunk metadata key holding the owning tenant; searches through the gateway always filter on it. */
export const TENANT_METADATA_KEY = 'tenant';

/** Which tenant owns a document id (retrieval knows no tenants); documents from before keys existed belong to `default`. */
@Injectable()
export class DocumentOwnersRepository {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  /** Records the tenant as owner: `new` when it was unowned, `owned` when it already was the tenant's, `taken` when another tenant's. */
  async claim(documentId: string, tenant: string): Promise<'new' | 'owned' | 'taken'> {
    // xmax = 0 only on a freshly inserted row; the no-op update returns the row only to its owner.
    const rows = await this.ds.query<{ inserted: boolean }[]>(
      `INSERT INTO gateway.document_owners (document_id, tenant) VALUES ($1, $2)
       ON CONFLICT (document_id) DO UPDATE SET document_id = EXCLUDED.document_id WHERE document_owners.tenant = EXCLUDED.tenant
       RETURNING (xmax = 0) AS inserted`,
      [documentId, tenant],
    );
    if (rows.length === 0) return 'taken';
    return rows[0].inserted ? 'new' : 'owned';
  }

  async ownerOf(documentId: string): Promise<string> {
    const rows = await this.ds.query<{ tenant: string }[]>(`SELECT tenant FROM gateway.document_owners WHERE document_id = $1`, [documentId]);
    return rows[0]?.tenant ?? 'default';
  }

  async release(documentId: string): Promise<void> {
    await this.ds.query(`DELETE FROM gateway.document_owners WHERE document_id = $1`, [documentId]);
  }
}
