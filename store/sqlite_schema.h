#pragma once
// The SQLite schema and its migrations. Used by SqliteStore::migrate().

#include "store/sqlite_connection.h"

namespace parley::store::detail {

// Brings the database up to the newest schema version inside one write transaction: creates
// the tables on an empty file and applies the missing migrations to an older one. Throws
// StoreError when the file was written by a newer build with a schema this build does not know.
void migrate_schema(Connection& connection);

}  // namespace parley::store::detail
