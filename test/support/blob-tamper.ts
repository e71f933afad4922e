import Database from 'better-sqlite3';
import { Binary, MongoClient, ObjectId } from 'mongodb';
import { expect } from 'vitest';

/** Flips one bit of the blob's first stored piece, behind the store's back: in the SQLite file, or in GridFS. */
export async function tamperWithBlob(url: string, blobId: string): Promise<void> {
  if (url.startsWith('sqlite://')) {
    const db = new Database(url.slice('sqlite://'.length));
    try {
      db.pragma('busy_timeout = 5000');
      const row = db.prepare('SELECT data FROM blob_chunks WHERE blob_id = ? AND n = 0').get(blobId) as {
        data: Buffer;
      };
      const data = Buffer.from(row.data);
      data[0] = data[0]! ^ 0x01;
      expect(db.prepare('UPDATE blob_chunks SET data = ? WHERE blob_id = ? AND n = 0').run(data, blobId).changes).toBe(
        1,
      );
    } finally {
      db.close();
    }
    return;
  }
  const client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 3000 });
  try {
    const chunks = client.db().collection<{ files_id: ObjectId; n: number; data: Binary }>('blobs.chunks');
    const chunk = await chunks.findOne({ files_id: new ObjectId(blobId), n: 0 });
    const data = Buffer.from(chunk!.data.buffer);
    data[0] = data[0]! ^ 0x01;
    expect((await chunks.updateOne({ _id: chunk!._id }, { $set: { data: new Binary(data) } })).modifiedCount).toBe(1);
  } finally {
    await client.close();
  }
}
