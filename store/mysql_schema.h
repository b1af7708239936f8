#pragma once
// The MySQL schema and its migrations. Used by MysqlStore::migrate().

#include "store/mysql_connection.h"

namespace parley::store::mysql {

// Brings the database up to the newest schema version: creates the tables in an empty database
// and applies the missing migrations to an older one. A server-wide named lock keeps two
// processes from migrating the same database at once. Throws StoreError when the database was
// written by a newer build with a schema this build does not know.
void migrate_schema(Connection& connection);

}  // namespace parley::store::mysql
