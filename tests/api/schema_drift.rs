//! The two migration folders say the same thing, and `src/db/schema.rs` says what the migrated
//! databases hold.
//!
//! Both are written by hand: `migrations/sqlite` and `migrations/postgres` twice over (vaultwarden
//! let its two folders drift apart), schema.rs once for both backends (`diesel print-schema`
//! differs between them). The first half compares the folders statement by statement, seeing
//! through a short list of named dialect differences and through nothing else. The second half
//! compares every `table!` of schema.rs with the database the suite runs on; CI runs the suite on
//! SQLite and on PostgreSQL, so both databases get checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ctg_api::db::{self, DbConnection};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::{PgConnection, SqliteConnection};

use crate::helpers::fresh_database;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// The two migration folders
// ---------------------------------------------------------------------------------------------

/// One SQL statement as the comparison sees it: its tokens, comments and layout dropped.
type Statement = Vec<String>;

/// The tokens of a SQL text. Comments are dropped (they explain, they do not migrate), and so is
/// layout. Words are lowercased, because keywords and unquoted names are case-insensitive on both
/// backends; string literals, quoted names and dollar-quoted bodies stay verbatim, one token each,
/// so that neither a `;` nor a changed space inside them goes unseen.
fn tokens(sql: &str) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let rest = &chars[at..];
        if rest[0].is_whitespace() {
            at += 1;
        } else if let Some(length) = comment_length(rest) {
            at += length;
        } else {
            let length = token_length(rest);
            let token: String = rest[..length].iter().collect();
            let is_word = rest[0].is_alphanumeric() || rest[0] == '_';
            tokens.push(if is_word { token.to_lowercase() } else { token });
            at += length;
        }
    }
    tokens
}

/// The length of a `-- …` or `/* … */` comment at the start of `rest`.
fn comment_length(rest: &[char]) -> Option<usize> {
    match rest {
        ['-', '-', ..] => Some(rest.iter().position(|&c| c == '\n').unwrap_or(rest.len())),
        ['/', '*', ..] => {
            Some(rest.windows(2).skip(2).position(|pair| pair == ['*', '/']).map_or(rest.len(), |end| end + 4))
        }
        _ => None,
    }
}

/// The length of the token at the start of `rest`: a quoted string or name, a dollar-quoted body,
/// a word, a two-character operator or a single character.
fn token_length(rest: &[char]) -> usize {
    let is_word_char = |c: &char| c.is_alphanumeric() || *c == '_';
    match rest {
        ['\'' | '"', ..] => quoted_length(rest),
        ['$', ..] => dollar_quoted_length(rest).unwrap_or(1),
        [first, ..] if is_word_char(first) => rest.iter().take_while(|c| is_word_char(c)).count(),
        ['<', '>' | '=', ..] | ['>' | '!', '=', ..] | ['|', '|', ..] | [':', ':', ..] => 2,
        _ => 1,
    }
}

/// `'it''s'` or `"a ""name"""`: a doubled quote stays inside.
fn quoted_length(rest: &[char]) -> usize {
    let quote = rest[0];
    let mut at = 1;
    while at < rest.len() {
        if rest[at] == quote {
            if rest.get(at + 1) == Some(&quote) {
                at += 2;
                continue;
            }
            return at + 1;
        }
        at += 1;
    }
    rest.len()
}

/// PostgreSQL's `$$ … $$` or `$tag$ … $tag$` (function bodies); `None` for `$1` and the like.
fn dollar_quoted_length(rest: &[char]) -> Option<usize> {
    let tag_length = rest[1..].iter().position(|&c| c == '$')? + 2;
    let tag = &rest[..tag_length];
    let is_tag = tag[1..tag_length - 1].iter().all(|c| c.is_alphanumeric() || *c == '_')
        && !tag.get(1).is_some_and(char::is_ascii_digit);
    if !is_tag {
        return None;
    }
    let body_end = rest[tag_length..].windows(tag_length).position(|window| window == tag)?;
    Some(tag_length + body_end + tag_length)
}

/// The statements of a migration file. A `;` ends a statement only outside a `CASE … END` and a
/// trigger's `BEGIN … END`, whose body holds statements of its own.
fn statements(sql: &str) -> Vec<Statement> {
    let mut statements = Vec::new();
    let mut current = Statement::new();
    let mut open_blocks = 0_usize;
    for token in tokens(sql) {
        if token == ";" && open_blocks == 0 {
            if !current.is_empty() {
                statements.push(std::mem::take(&mut current));
            }
            continue;
        }
        match token.as_str() {
            "case" => open_blocks += 1,
            "begin" if is_trigger(&current) => open_blocks += 1,
            "end" => open_blocks = open_blocks.saturating_sub(1),
            _ => {}
        }
        current.push(token);
    }
    if !current.is_empty() {
        statements.push(current);
    }
    statements
}

/// `CREATE [TEMP] TRIGGER …`.
fn is_trigger(statement: &[String]) -> bool {
    statement.first().is_some_and(|word| word == "create") && statement.iter().take(3).any(|word| word == "trigger")
}

/// A known, intended difference between the dialects. Each rule rewrites SQLite's spelling into
/// PostgreSQL's, token for token, and only that exact spelling: the comparison sees through the
/// difference and through nothing else.
struct DialectRule {
    name: &'static str,
    /// Rewrites every occurrence in a SQLite statement and says how many it rewrote.
    rewrite: fn(&mut Statement) -> usize,
}

const DIALECT_RULES: [DialectRule; 4] = [
    DialectRule { name: "identity_key", rewrite: identity_key },
    DialectRule { name: "binary_type", rewrite: binary_type },
    DialectRule { name: "without_rowid", rewrite: without_rowid },
    DialectRule { name: "ordered_string_aggregate", rewrite: ordered_string_aggregate },
];

/// SQLite `INTEGER PRIMARY KEY AUTOINCREMENT`, PostgreSQL `BIGINT GENERATED ALWAYS AS IDENTITY
/// PRIMARY KEY`: a 64-bit key the database generates and never reuses, which a feed read by id
/// needs. In SQLite only the exact type `INTEGER` makes the column the (64-bit) rowid, and
/// AUTOINCREMENT keeps the ids of deleted rows from coming back; PostgreSQL has no rowid and
/// spells such a key as an identity column. (ALWAYS also refuses an id given by the caller,
/// which SQLite would accept; the service never gives one.)
fn identity_key(statement: &mut Statement) -> usize {
    replace_all(
        statement,
        &["integer", "primary", "key", "autoincrement"],
        &["bigint", "generated", "always", "as", "identity", "primary", "key"],
    )
}

/// SQLite `BLOB`, PostgreSQL `BYTEA`: a column of raw bytes (a document's chunks), which diesel
/// reads and writes as `Binary` on both.
fn binary_type(statement: &mut Statement) -> usize {
    replace_all(statement, &["blob"], &["bytea"])
}

/// SQLite `CREATE TABLE … (…) WITHOUT ROWID`, PostgreSQL `CREATE TABLE … (…)`: a storage choice
/// only. SQLite then keeps the rows in the primary key's b-tree instead of beside a hidden rowid,
/// which spares a second index on a table read by its key; PostgreSQL has no rowid and no such
/// option.
fn without_rowid(statement: &mut Statement) -> usize {
    let is_create_table = words_at(statement, 0, &["create", "table"]);
    let rowid_option = statement.len().saturating_sub(3);
    if is_create_table && words_at(statement, rowid_option, &[")", "without", "rowid"]) {
        statement.truncate(rowid_option + 1);
        1
    } else {
        0
    }
}

/// SQLite `group_concat(X, SEP) FROM (SELECT X FROM … ORDER BY K)`, PostgreSQL
/// `string_agg(X, SEP ORDER BY K) FROM …`: the values of X joined in the order of K. PostgreSQL
/// has no group_concat and takes the order inside the aggregate; SQLite's group_concat takes an
/// ORDER BY only since 3.44, so the migrations have it join the rows of an ordered subquery.
fn ordered_string_aggregate(statement: &mut Statement) -> usize {
    let mut rewritten = 0;
    while let Some(at) = statement.iter().position(|token| token == "group_concat") {
        let Some((end, postgres_spelling)) = ordered_group_concat_at(statement, at) else {
            break;
        };
        statement.splice(at..end, postgres_spelling);
        rewritten += 1;
    }
    rewritten
}

/// Reads `group_concat ( X , SEP ) from ( select X from REST order by K )` at `at`: where it ends
/// and `string_agg ( X , SEP order by K ) from REST`.
fn ordered_group_concat_at(statement: &[String], at: usize) -> Option<(usize, Statement)> {
    let mut cursor = Cursor { tokens: statement, at };
    cursor.expect(&["group_concat", "("])?;
    let value = cursor.until(",")?;
    let separator = cursor.until(")")?;
    cursor.expect(&["from", "(", "select"])?;
    cursor.expect(value)?;
    cursor.expect(&["from"])?;
    let rest = cursor.until("order")?;
    cursor.expect(&["by"])?;
    let key = cursor.until(")")?;
    let words = |words: &[&str]| words.iter().map(|word| (*word).to_owned()).collect::<Statement>();
    let postgres_spelling = [
        words(&["string_agg", "("]),
        value.to_vec(),
        words(&[","]),
        separator.to_vec(),
        words(&["order", "by"]),
        key.to_vec(),
        words(&[")", "from"]),
        rest.to_vec(),
    ]
    .concat();
    Some((cursor.at, postgres_spelling))
}

/// Reads a statement's tokens left to right.
struct Cursor<'a> {
    tokens: &'a [String],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Steps over `words` if they come next.
    fn expect<W: AsRef<str>>(&mut self, words: &[W]) -> Option<()> {
        words_at(self.tokens, self.at, words).then(|| self.at += words.len())
    }

    /// The tokens up to the next `stop` outside parentheses, stepping over the `stop`; `None` if
    /// the enclosing parenthesis closes first.
    fn until(&mut self, stop: &str) -> Option<&'a [String]> {
        let mut depth = 0_usize;
        for (offset, token) in self.tokens[self.at..].iter().enumerate() {
            if depth == 0 && token == stop {
                let run = &self.tokens[self.at..self.at + offset];
                self.at += offset + 1;
                return Some(run);
            }
            match token.as_str() {
                "(" => depth += 1,
                ")" => depth = depth.checked_sub(1)?,
                _ => {}
            }
        }
        None
    }
}

/// Whether `words` come in `tokens` at `at`.
fn words_at<W: AsRef<str>>(tokens: &[String], at: usize, words: &[W]) -> bool {
    tokens
        .get(at..at + words.len())
        .is_some_and(|run| run.iter().map(String::as_str).eq(words.iter().map(AsRef::as_ref)))
}

/// Replaces every run of `from` in `statement` with `to` and says how many it replaced.
fn replace_all(statement: &mut Statement, from: &[&str], to: &[&str]) -> usize {
    let mut replaced = 0;
    let mut at = 0;
    while at < statement.len() {
        if words_at(statement, at, from) {
            statement.splice(at..at + from.len(), to.iter().map(|word| (*word).to_owned()));
            at += to.len();
            replaced += 1;
        } else {
            at += 1;
        }
    }
    replaced
}

/// A SQLite statement with the known dialect differences rewritten into PostgreSQL's spelling,
/// counting in `rules_used` how often each rule rewrote something.
fn in_postgres_spelling(mut statement: Statement, rules_used: &mut BTreeMap<&'static str, usize>) -> Statement {
    for rule in &DIALECT_RULES {
        *rules_used.entry(rule.name).or_default() += (rule.rewrite)(&mut statement);
    }
    statement
}

/// The differences between the SQLite and PostgreSQL versions of one migration file, each naming
/// the migration, the file, the statement and showing both normalised statements.
fn file_differences(
    migration: &str,
    file: &str,
    sqlite_sql: &str,
    postgres_sql: &str,
    rules_used: &mut BTreeMap<&'static str, usize>,
) -> Vec<String> {
    let sqlite: Vec<Statement> =
        statements(sqlite_sql).into_iter().map(|statement| in_postgres_spelling(statement, rules_used)).collect();
    let postgres = statements(postgres_sql);
    let mut differences = Vec::new();
    if sqlite.len() != postgres.len() {
        differences.push(format!(
            "{migration}/{file}: {} statements on SQLite, {} on PostgreSQL",
            sqlite.len(),
            postgres.len()
        ));
    }
    let show = |statement: Option<&Statement>| statement.map_or_else(|| "(no statement)".to_owned(), |s| s.join(" "));
    for index in 0..sqlite.len().max(postgres.len()) {
        let (on_sqlite, on_postgres) = (sqlite.get(index), postgres.get(index));
        if on_sqlite != on_postgres {
            differences.push(format!(
                "{migration}/{file}, statement {} of {}: {}\n  sqlite:   {}\n  postgres: {}",
                index + 1,
                sqlite.len().max(postgres.len()),
                first_difference(on_sqlite.map_or(&[], Vec::as_slice), on_postgres.map_or(&[], Vec::as_slice)),
                show(on_sqlite),
                show(on_postgres),
            ));
        }
    }
    differences
}

/// Where two statements part: the few tokens they share before it, then each side's next token.
fn first_difference(sqlite: &[String], postgres: &[String]) -> String {
    let common = sqlite.iter().zip(postgres).take_while(|(s, p)| s == p).count();
    let before = sqlite[common.saturating_sub(6)..common].join(" ");
    let next =
        |tokens: &[String]| tokens.get(common).map_or_else(|| "the end".to_owned(), |token| format!("`{token}`"));
    format!("after `… {before}` SQLite has {}, PostgreSQL has {}", next(sqlite), next(postgres))
}

fn migration_names(backend: &str) -> BTreeSet<String> {
    let dir = manifest_dir().join("migrations").join(backend);
    std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

fn read_migration(backend: &str, migration: &str, file: &str) -> String {
    let path = manifest_dir().join("migrations").join(backend).join(migration).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn the_two_migration_folders_say_the_same_thing() {
    let mut rules_used = BTreeMap::new();
    let mut differences = Vec::new();
    let migrations = migration_names("sqlite");
    assert!(!migrations.is_empty());
    assert_eq!(migrations, migration_names("postgres"), "the two folders hold different migrations");
    for migration in &migrations {
        for file in ["up.sql", "down.sql"] {
            let (sqlite, postgres) =
                (read_migration("sqlite", migration, file), read_migration("postgres", migration, file));
            differences.extend(file_differences(migration, file, &sqlite, &postgres, &mut rules_used));
        }
    }
    assert!(
        differences.is_empty(),
        "migrations/sqlite and migrations/postgres differ beyond the known dialect differences \
         (SQLite shown with those rewritten into PostgreSQL's spelling):\n\n{}",
        differences.join("\n\n")
    );
    let unused: Vec<&str> = DIALECT_RULES
        .iter()
        .filter(|rule| rules_used.get(rule.name).is_none_or(|&n| n == 0))
        .map(|rule| rule.name)
        .collect();
    assert!(
        unused.is_empty(),
        "dialect rules no migration needs any more, remove them so they hide nothing later: {unused:?}"
    );
}

#[test]
fn known_dialect_differences_layout_case_and_comments_compare_equal() {
    let sqlite = "-- The feed.\nCREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT) WITHOUT ROWID;\n\
                  update t set ids = coalesce((select GROUP_CONCAT(id, ',') from\n\
                  (select id from events e where e.x = t.x order by id)), '');";
    let postgres = "create table EVENTS (\n  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, /* JSON */ body TEXT\n);\n\
                    UPDATE t SET ids = COALESCE((SELECT string_agg(id, ',' ORDER BY id) FROM events e WHERE e.x = t.x), '');";
    let mut rules_used = BTreeMap::new();
    assert_eq!(file_differences("m", "up.sql", sqlite, postgres, &mut rules_used), Vec::<String>::new());
    assert_eq!(rules_used.values().sum::<usize>(), 3, "{rules_used:?}");
}

#[test]
fn a_difference_that_is_no_dialect_difference_is_reported_with_both_statements() {
    let sqlite = "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT NOT NULL); DROP TABLE u;";
    let postgres =
        "CREATE TABLE t (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a TEXT); DROP TABLE u; SELECT 'x'";
    let differences = file_differences("0001_m", "up.sql", sqlite, postgres, &mut BTreeMap::new());
    assert_eq!(differences.len(), 3, "{differences:#?}");
    assert!(differences[0].contains("2 statements on SQLite, 3 on PostgreSQL"), "{}", differences[0]);
    assert!(differences[1].starts_with("0001_m/up.sql, statement 1 of 3"), "{}", differences[1]);
    assert!(differences[1].contains("SQLite has `not`, PostgreSQL has `)`"), "{}", differences[1]);
    assert!(differences[1].contains("sqlite:   create table t ( id bigint generated"), "{}", differences[1]);
    assert!(differences[1].contains("postgres: create table t ( id bigint generated"), "{}", differences[1]);
    assert!(
        differences[2].contains("statement 3 of 3") && differences[2].contains("(no statement)"),
        "{}",
        differences[2]
    );

    let changed_literal = file_differences(
        "m",
        "up.sql",
        "INSERT INTO t VALUES ('a b');",
        "INSERT INTO t VALUES ('a  b');",
        &mut BTreeMap::new(),
    );
    assert_eq!(changed_literal.len(), 1, "spaces inside a string are data, not layout");
}

#[test]
fn semicolons_end_statements_only_outside_strings_comments_and_bodies() {
    let sql = "INSERT INTO t VALUES ('a;b', 'it''s', \"c;d\"); -- e;f\n/* g;h */\n\
               CREATE TRIGGER x AFTER INSERT ON t BEGIN UPDATE t SET v = CASE WHEN 1 THEN 2 END; END;\n\
               CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN RETURN NEW; END $body$ LANGUAGE plpgsql;\n\
               SELECT $1 || 'last'";
    let statements: Vec<String> = statements(sql).iter().map(|statement| statement.join(" ")).collect();
    assert_eq!(
        statements,
        [
            "insert into t values ( 'a;b' , 'it''s' , \"c;d\" )",
            "create trigger x after insert on t begin update t set v = case when 1 then 2 end ; end",
            "create function f ( ) returns trigger as $body$ BEGIN RETURN NEW; END $body$ language plpgsql",
            "select $ 1 || 'last'",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// schema.rs against the migrated database
// ---------------------------------------------------------------------------------------------

/// A `diesel::table!` of schema.rs: what the database should hold.
#[derive(Debug, PartialEq)]
struct DeclaredTable {
    name: String,
    primary_key: Vec<String>,
    columns: Vec<DeclaredColumn>,
}

#[derive(Debug, PartialEq)]
struct DeclaredColumn {
    /// The database's name: `#[sql_name = "…"]` when schema.rs gives one.
    name: String,
    /// `Text` for both `Text` and `Nullable<Text>`.
    diesel_type: String,
    nullable: bool,
}

/// Reads every `table!` of schema.rs, line by line as the file is written. A line inside a table
/// that it does not understand fails the test rather than being skipped, so no column goes
/// unchecked.
fn declared_tables(schema: &str) -> Vec<DeclaredTable> {
    let mut lines = schema.lines().map(str::trim);
    let mut tables = Vec::new();
    while let Some(line) = lines.next() {
        if line.ends_with("table! {") {
            tables.push(declared_table(&mut lines));
        }
    }
    assert_eq!(tables.len(), schema.matches("table!").count(), "schema.rs: a table! not written one column per line");
    tables
}

fn declared_table<'a>(lines: &mut impl Iterator<Item = &'a str>) -> DeclaredTable {
    let mut table: Option<DeclaredTable> = None;
    let mut sql_name = None;
    for line in lines {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        if line.starts_with("#[") {
            // Only `sql_name` changes what the database is asked for; other attributes do not.
            sql_name = line.strip_prefix("#[sql_name = \"").and_then(|rest| rest.strip_suffix("\"]")).or(sql_name);
            continue;
        }
        match table.as_mut() {
            None => table = Some(table_header(line, sql_name.take())),
            Some(_) if line == "}" => return table.unwrap(),
            Some(table) => table.columns.push(declared_column(line, sql_name.take(), &table.name)),
        }
    }
    panic!("schema.rs ends inside a table!")
}

/// `name (key, columns) {`, or `name {` for diesel's default key `id`.
fn table_header(line: &str, sql_name: Option<&str>) -> DeclaredTable {
    let header = line.strip_suffix('{').unwrap_or_else(|| panic!("schema.rs: not a table header: `{line}`")).trim();
    let (name, key) = header.split_once('(').map_or((header, "id)"), |(name, key)| (name.trim(), key));
    let key = key.strip_suffix(')').unwrap_or_else(|| panic!("schema.rs: unreadable primary key in `{line}`"));
    DeclaredTable {
        name: sql_name.unwrap_or(name).to_owned(),
        primary_key: key.split(',').map(|column| column.trim().to_owned()).collect(),
        columns: Vec::new(),
    }
}

/// `name -> Type,` or `name -> Nullable<Type>,`.
fn declared_column(line: &str, sql_name: Option<&str>, table: &str) -> DeclaredColumn {
    let (name, diesel_type) =
        line.split_once("->").unwrap_or_else(|| panic!("schema.rs, table {table}: cannot read `{line}`"));
    let diesel_type = diesel_type.trim().trim_end_matches(',').trim();
    let inner = diesel_type.strip_prefix("Nullable<").and_then(|inner| inner.strip_suffix('>'));
    DeclaredColumn {
        name: sql_name.unwrap_or(name.trim()).to_owned(),
        diesel_type: inner.unwrap_or(diesel_type).to_owned(),
        nullable: inner.is_some(),
    }
}

/// A column as the migrated database holds it.
#[derive(QueryableByName)]
struct DatabaseColumn {
    #[diesel(sql_type = Text)]
    name: String,
    /// As PRAGMA table_info (the type as the migration spells it) or information_schema reports it.
    #[diesel(sql_type = Text)]
    declared_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
    /// Place in the primary key, from 1; 0 outside it.
    #[diesel(sql_type = BigInt)]
    key_position: i64,
}

/// The columns of `table` in a SQLite database, in order; none if there is no such table.
///
/// PRAGMA table_info reports `notnull = 0` for an `INTEGER PRIMARY KEY` column, yet that column is
/// the rowid and can never be NULL, so it counts as not nullable here. (In a WITHOUT ROWID table
/// every key column refuses NULL and says so.) Any other primary key column without NOT NULL
/// really does accept NULL in SQLite and is reported as such.
fn sqlite_columns(conn: &mut SqliteConnection, table: &str) -> Vec<DatabaseColumn> {
    let mut columns = diesel::sql_query(
        "SELECT name, type AS declared_type, \"notnull\" = 0 AS nullable, pk AS key_position FROM pragma_table_info(?)",
    )
    .bind::<Text, _>(table)
    .load::<DatabaseColumn>(conn)
    .unwrap();
    let key_columns = columns.iter().filter(|column| column.key_position > 0).count();
    for column in &mut columns {
        if key_columns == 1 && column.key_position == 1 && column.declared_type.eq_ignore_ascii_case("INTEGER") {
            column.nullable = false;
        }
    }
    columns
}

/// The columns of `table` in the current PostgreSQL schema, in order; none if there is no such table.
fn postgres_columns(conn: &mut PgConnection, table: &str) -> Vec<DatabaseColumn> {
    diesel::sql_query(
        "SELECT c.column_name::text AS name, c.data_type::text AS declared_type, c.is_nullable = 'YES' AS nullable,
                COALESCE((SELECT k.ordinal_position::bigint
                          FROM information_schema.table_constraints t
                          JOIN information_schema.key_column_usage k
                            ON k.constraint_schema = t.constraint_schema AND k.constraint_name = t.constraint_name
                          WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = c.table_schema
                            AND t.table_name = c.table_name AND k.column_name = c.column_name), 0) AS key_position
         FROM information_schema.columns c
         WHERE c.table_schema = current_schema() AND c.table_name = $1
         ORDER BY c.ordinal_position",
    )
    .bind::<Text, _>(table)
    .load(conn)
    .unwrap()
}

fn database_columns(conn: &mut DbConnection, table: &str) -> Vec<DatabaseColumn> {
    match conn {
        DbConnection::Sqlite(conn) => sqlite_columns(conn, table),
        DbConnection::Pg(conn) => postgres_columns(conn, table),
    }
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

fn database_tables(conn: &mut DbConnection) -> BTreeSet<String> {
    let query = match conn {
        DbConnection::Sqlite(_) => "SELECT name FROM sqlite_master WHERE type = 'table'",
        DbConnection::Pg(_) => {
            "SELECT table_name::text AS name FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
    };
    diesel::sql_query(query).load::<TableName>(conn).unwrap().into_iter().map(|table| table.name).collect()
}

/// Tables the migrated databases hold that schema.rs deliberately does not declare, and why.
const UNDECLARED_TABLES: [(&str, &str); 2] = [
    (
        "__diesel_schema_migrations",
        "diesel_migrations' record of the applied migrations: only diesel_migrations reads it",
    ),
    ("sqlite_sequence", "SQLite's own bookkeeping behind AUTOINCREMENT (contract_history, events): SQLite writes it"),
];

/// The database types a diesel type may stand for on each backend, as `DatabaseColumn` reports
/// them. Derived from what the migrations use (portable types only: ids, enums and JSON as TEXT,
/// money as BIGINT cents), plus `Integer` and `Binary`, whose counterparts are plain; a migration
/// that brings in another type has to be added here on purpose.
fn accepted_types(diesel_type: &str, conn: &DbConnection) -> &'static [&'static str] {
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    match (diesel_type, sqlite) {
        ("Text", true) => &["TEXT"],
        ("Text", false) => &["text"],
        // SQLite stores every integer in up to 8 bytes whatever its declared type, and its 64-bit
        // generated key must be spelled INTEGER (see `identity_key`).
        ("BigInt", true) => &["BIGINT", "INTEGER"],
        ("BigInt", false) => &["bigint"],
        ("Integer", true) => &["INTEGER"],
        ("Integer", false) => &["integer"],
        ("Date", true) => &["DATE"],
        ("Date", false) => &["date"],
        ("Timestamp", true) => &["TIMESTAMP"],
        ("Timestamp", false) => &["timestamp without time zone"],
        ("Bool", true) => &["BOOLEAN"],
        ("Bool", false) => &["boolean"],
        ("Binary", true) => &["BLOB"],
        ("Binary", false) => &["bytea"],
        _ => &[],
    }
}

/// How one declared table differs from the database: missing table, columns on one side only,
/// nullability, types and primary key.
fn table_differences(conn: &mut DbConnection, table: &DeclaredTable) -> Vec<String> {
    let columns = database_columns(conn, &table.name);
    if columns.is_empty() {
        return vec![format!("table {} is in schema.rs but not in the database", table.name)];
    }
    let in_database: BTreeMap<&str, &DatabaseColumn> =
        columns.iter().map(|column| (column.name.as_str(), column)).collect();
    let mut differences = Vec::new();
    for declared in &table.columns {
        let Some(actual) = in_database.get(declared.name.as_str()) else {
            differences.push(format!("{}.{} is in schema.rs but not in the database", table.name, declared.name));
            continue;
        };
        differences.extend(column_difference(conn, &table.name, declared, actual));
    }
    let declared_names: BTreeSet<&str> = table.columns.iter().map(|column| column.name.as_str()).collect();
    for column in columns.iter().filter(|column| !declared_names.contains(column.name.as_str())) {
        differences.push(format!("{}.{} is in the database but not in schema.rs", table.name, column.name));
    }
    let mut key: Vec<&DatabaseColumn> = columns.iter().filter(|column| column.key_position > 0).collect();
    key.sort_by_key(|column| column.key_position);
    let key: Vec<&str> = key.iter().map(|column| column.name.as_str()).collect();
    if key != table.primary_key {
        differences
            .push(format!("{}: schema.rs says primary key {:?}, the database {key:?}", table.name, table.primary_key));
    }
    differences
}

fn column_difference(
    conn: &DbConnection,
    table: &str,
    declared: &DeclaredColumn,
    actual: &DatabaseColumn,
) -> Option<String> {
    let accepted = accepted_types(&declared.diesel_type, conn);
    let type_matches = accepted.iter().any(|accepted| accepted.eq_ignore_ascii_case(&actual.declared_type));
    let nullability = |nullable| if nullable { "nullable" } else { "not null" };
    let accepted =
        if accepted.is_empty() { "none known: add them to accepted_types".to_owned() } else { format!("{accepted:?}") };
    (!type_matches || declared.nullable != actual.nullable).then(|| {
        format!(
            "{table}.{}: schema.rs says {} {} (accepted database types {accepted}), the database says {} {}",
            declared.name,
            declared.diesel_type,
            nullability(declared.nullable),
            actual.declared_type,
            nullability(actual.nullable),
        )
    })
}

#[test]
fn schema_rs_matches_the_migrated_database() {
    let schema = std::fs::read_to_string(manifest_dir().join("src/db/schema.rs")).unwrap();
    let declared = declared_tables(&schema);
    assert!(!declared.is_empty(), "no table! read from schema.rs");
    let database = fresh_database();
    let mut conn = db::connect(database.url()).unwrap();
    let backend = match conn {
        DbConnection::Sqlite(_) => "SQLite",
        DbConnection::Pg(_) => "PostgreSQL",
    };

    let mut differences: Vec<String> = declared.iter().flat_map(|table| table_differences(&mut conn, table)).collect();
    let declared_names: BTreeSet<&str> = declared.iter().map(|table| table.name.as_str()).collect();
    let undeclared_on_purpose: BTreeSet<&str> = UNDECLARED_TABLES.iter().map(|(name, _why)| *name).collect();
    for table in database_tables(&mut conn) {
        if !declared_names.contains(table.as_str()) && !undeclared_on_purpose.contains(table.as_str()) {
            differences.push(format!("table {table} is in the database but not in schema.rs"));
        }
    }
    assert!(
        differences.is_empty(),
        "src/db/schema.rs and the migrated {backend} database differ:\n{}",
        differences.join("\n")
    );
}

#[test]
fn the_schema_reader_sees_keys_sql_names_and_nullable_types() {
    let schema = "diesel::table! {\n    pairs (left_id, right_id) {\n        left_id -> Text,\n        right_id -> Text,\n    }\n}\n\
                  diesel::joinable!(pairs -> things (left_id));\n\
                  diesel::table! {\n    things {\n        id -> BigInt,\n        #[sql_name = \"type\"]\n        \
                  thing_type -> Nullable<Text>,\n    }\n}\n";
    let column = |name: &str, diesel_type: &str, nullable| DeclaredColumn {
        name: name.into(),
        diesel_type: diesel_type.into(),
        nullable,
    };
    assert_eq!(
        declared_tables(schema),
        [
            DeclaredTable {
                name: "pairs".into(),
                primary_key: vec!["left_id".into(), "right_id".into()],
                columns: vec![column("left_id", "Text", false), column("right_id", "Text", false)],
            },
            DeclaredTable {
                name: "things".into(),
                primary_key: vec!["id".into()],
                columns: vec![column("id", "BigInt", false), column("type", "Text", true)],
            },
        ]
    );
}
