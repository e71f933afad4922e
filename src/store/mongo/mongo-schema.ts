import type { Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { storeIndexes } from '../indexes.js';
import { Collection } from '../stored-form.js';
import { schemaOfCollection } from '../validate-document.js';
import { mongoJsonSchema } from './mongo-json-schema.js';

const NAMESPACE_EXISTS = 48;
const NOT_IMPLEMENTED = 238;
/** mongo-java-server has no collMod at all. */
const COMMAND_NOT_FOUND = 59;

export interface SchemaApplyReport {
  validators: 'applied' | 'unsupported';
  indexes: number;
}

/**
 * Creates the collections with `$jsonSchema` validators and the indexes. Idempotent. A MongoDB-compatible
 * server without validators (FerretDB 1.x answers NotImplemented) still gets collections and indexes;
 * documents are validated with ajv before every write in any case.
 */
export async function applyStoreSchema(db: Db, log: (line: string) => void = () => {}): Promise<SchemaApplyReport> {
  let validators: SchemaApplyReport['validators'] = 'applied';
  for (const name of Object.values(Collection)) {
    const validator = { $jsonSchema: mongoJsonSchema(schemaOfCollection[name]) };
    try {
      await db.createCollection(name, { validator, validationLevel: 'strict', validationAction: 'error' });
    } catch (error) {
      if (!(error instanceof MongoServerError)) throw error;
      if (error.code === NAMESPACE_EXISTS) {
        await db
          .command({ collMod: name, validator, validationLevel: 'strict', validationAction: 'error' })
          .catch((collModError: unknown) => {
            if (!(
              collModError instanceof MongoServerError &&
              (collModError.code === NOT_IMPLEMENTED || collModError.code === COMMAND_NOT_FOUND)
            ))
              throw collModError;
          });
      } else if (error.code === NOT_IMPLEMENTED) {
        if (validators === 'applied')
          log(
            'this server has no collection validators (NotImplemented); collections are created without them, and ajv still validates every write',
          );
        validators = 'unsupported';
        await db.createCollection(name).catch((plain: unknown) => {
          if (!(plain instanceof MongoServerError && plain.code === NAMESPACE_EXISTS)) throw plain;
        });
      } else {
        throw error;
      }
    }
  }
  for (const index of storeIndexes) {
    await db.collection(index.collection).createIndex(index.keys, {
      name: index.name,
      unique: index.unique ?? false,
      ...(index.sparse ? { sparse: true } : {}),
    });
  }
  return { validators, indexes: storeIndexes.length };
}

/** Reverses applyStoreSchema without destroying data: indexes and validators go, documents stay. */
export async function removeStoreSchema(db: Db): Promise<void> {
  for (const index of storeIndexes) {
    await db
      .collection(index.collection)
      .dropIndex(index.name)
      .catch(() => undefined);
  }
  for (const name of Object.values(Collection)) {
    await db.command({ collMod: name, validator: {}, validationLevel: 'off' }).catch(() => undefined);
  }
}
