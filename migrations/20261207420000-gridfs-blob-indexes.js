// The blob store's GridFS bucket (blobs.files, blobs.chunks): GridFS's own indexes, made before the first upload,
// and blobs_files_run, by which pruning finds a run's blobs. Idempotent.
import { createBlobIndexes } from '../dist/src/store/mongo/gridfs-blobs.js';

export async function up(db) {
  await createBlobIndexes(db);
}

// Blobs stay; only the lookup by run goes (GridFS's own indexes are the driver's to keep).
export async function down(db) {
  await db
    .collection('blobs.files')
    .dropIndex('blobs_files_run')
    .catch(() => undefined);
}
