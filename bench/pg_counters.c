/*
 * bench_counters: statements and transactions of PostgreSQL's client backends, counted
 * per application_name, for `make bench` (bench/counters.py builds and loads it).
 *
 * The embedded server (pgserver) ships without pg_stat_statements, so the bench loads this
 * instead, through shared_preload_libraries. It counts what pg_stat_statements counts as
 * `calls` with pg_stat_statements.track = top and track_utility = on:
 *
 *   queries              top-level plannable statements (SELECT, INSERT, UPDATE, DELETE,
 *                        MERGE, VALUES), one per execution (ExecutorStart at nesting 0);
 *                        statements run inside functions or triggers are not counted
 *   utility              top-level utility statements (LOCK, NOTIFY, LISTEN, SET, COPY, DDL),
 *                        except transaction control; EXECUTE, PREPARE and DEALLOCATE are
 *                        not counted (the statement EXECUTE runs counts as a query), as in
 *                        pg_stat_statements
 *   transaction_control  BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ... (TransactionStmt)
 *   commits, rollbacks   top-level transactions ending (pg_stat_database's xact_commit and
 *                        xact_rollback, for client backends only)
 *   write_commits        the commits that had a transaction id (wrote something)
 *
 * Only client backends count (not autovacuum, the WAL writer, parallel workers), and their
 * transactions only from their first statement on: the catalog transaction that every
 * connection's start-up runs (and pg_stat_database counts) is not the client's. Counters
 * are shared-memory atomics, updated as each statement starts and each transaction ends:
 * unlike the cumulative statistics system there is no flush delay. A backend finds its slot
 * by application_name once (again only when the name changes); 63 names fit, any further
 * ones share the last slot, "(more names)". Nothing is ever reset: readers take deltas.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/tuplestore.h"

PG_MODULE_MAGIC;

#define BC_SLOTS 64
#define BC_COUNTERS 6

enum
{
	BC_QUERIES,
	BC_UTILITY,
	BC_TRANSACTION_CONTROL,
	BC_COMMITS,
	BC_WRITE_COMMITS,
	BC_ROLLBACKS
};

typedef struct BcSlot
{
	char		name[NAMEDATALEN];
	pg_atomic_uint64 counters[BC_COUNTERS];
} BcSlot;

typedef struct BcShared
{
	slock_t		mutex;			/* guards `used` and the names */
	int			used;
	BcSlot		slots[BC_SLOTS];
} BcShared;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(bench_counters);

static BcShared *bc = NULL;
static BcSlot *my_slot = NULL;
static char my_name[NAMEDATALEN];
static int	nesting = 0;
static bool wrote = false;
static bool spoke = false;		/* this backend has run a statement of its client's */

static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorRun_hook_type prev_executor_run = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

static bool
counting(void)
{
	return bc != NULL && MyBackendType == B_BACKEND && !IsParallelWorker();
}

static BcSlot *
slot_for_me(void)
{
	char		key[NAMEDATALEN];
	BcSlot	   *found = NULL;
	int			i;

	strlcpy(key, application_name ? application_name : "", NAMEDATALEN);
	if (my_slot != NULL && strcmp(my_name, key) == 0)
		return my_slot;
	SpinLockAcquire(&bc->mutex);
	for (i = 0; i < bc->used; i++)
	{
		if (strcmp(bc->slots[i].name, key) == 0)
		{
			found = &bc->slots[i];
			break;
		}
	}
	if (found == NULL)
	{
		if (bc->used < BC_SLOTS - 1)
		{
			found = &bc->slots[bc->used];
			strlcpy(found->name, key, NAMEDATALEN);
			bc->used++;
		}
		else
			found = &bc->slots[BC_SLOTS - 1];
	}
	SpinLockRelease(&bc->mutex);
	strlcpy(my_name, key, NAMEDATALEN);
	my_slot = found;
	return found;
}

static void
bump(int counter)
{
	spoke = true;
	pg_atomic_fetch_add_u64(&slot_for_me()->counters[counter], 1);
}

static void
bc_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	RequestAddinShmemSpace(MAXALIGN(sizeof(BcShared)));
}

static void
bc_shmem_startup(void)
{
	bool		found;
	int			i,
				j;

	if (prev_shmem_startup)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	bc = ShmemInitStruct("bench_counters", sizeof(BcShared), &found);
	if (!found)
	{
		SpinLockInit(&bc->mutex);
		bc->used = 0;
		for (i = 0; i < BC_SLOTS; i++)
		{
			bc->slots[i].name[0] = '\0';
			for (j = 0; j < BC_COUNTERS; j++)
				pg_atomic_init_u64(&bc->slots[i].counters[j], 0);
		}
		strlcpy(bc->slots[BC_SLOTS - 1].name, "(more names)", NAMEDATALEN);
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
bc_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (nesting == 0 && counting() && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
		bump(BC_QUERIES);
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static void
bc_executor_run(QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once)
{
	nesting++;
	PG_TRY();
	{
		if (prev_executor_run)
			prev_executor_run(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		nesting--;
	}
	PG_END_TRY();
}

static void
bc_executor_finish(QueryDesc *queryDesc)
{
	nesting++;
	PG_TRY();
	{
		if (prev_executor_finish)
			prev_executor_finish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nesting--;
	}
	PG_END_TRY();
}

static void
call_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
							 dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
								dest, qc);
}

static void
bc_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsA(parsetree, ExecuteStmt) || IsA(parsetree, PrepareStmt) ||
		IsA(parsetree, DeallocateStmt))
	{
		call_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
							 dest, qc);
		return;
	}
	if (nesting == 0 && counting())
		bump(IsA(parsetree, TransactionStmt) ? BC_TRANSACTION_CONTROL : BC_UTILITY);
	nesting++;
	PG_TRY();
	{
		call_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
							 dest, qc);
	}
	PG_FINALLY();
	{
		nesting--;
	}
	PG_END_TRY();
}

static void
bc_xact_callback(XactEvent event, void *arg)
{
	if (!spoke || !counting())
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			wrote = TransactionIdIsValid(GetTopTransactionIdIfAny());
			break;
		case XACT_EVENT_COMMIT:
			bump(BC_COMMITS);
			if (wrote)
				bump(BC_WRITE_COMMITS);
			wrote = false;
			break;
		case XACT_EVENT_ABORT:
			bump(BC_ROLLBACKS);
			wrote = false;
			break;
		default:
			break;
	}
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = bc_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = bc_shmem_startup;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = bc_executor_start;
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = bc_executor_run;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = bc_executor_finish;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = bc_process_utility;
	RegisterXactCallback(bc_xact_callback, NULL);
}

/*
 * bench_counters() RETURNS SETOF (application_name, queries, utility, transaction_control,
 * commits, write_commits, rollbacks): one row per name seen since the server started.
 */
Datum
bench_counters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char		names[BC_SLOTS][NAMEDATALEN];
	int			used;
	int			i,
				j;

	if (bc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bench_counters must be loaded via shared_preload_libraries")));
	InitMaterializedSRF(fcinfo, 0);
	SpinLockAcquire(&bc->mutex);
	used = bc->used;
	for (i = 0; i < used; i++)
		memcpy(names[i], bc->slots[i].name, NAMEDATALEN);
	SpinLockRelease(&bc->mutex);
	memcpy(names[BC_SLOTS - 1], bc->slots[BC_SLOTS - 1].name, NAMEDATALEN);
	for (i = 0; i < BC_SLOTS; i++)
	{
		Datum		values[1 + BC_COUNTERS];
		bool		nulls[1 + BC_COUNTERS] = {0};

		if (i >= used && i != BC_SLOTS - 1)
			continue;
		values[0] = CStringGetTextDatum(names[i]);
		for (j = 0; j < BC_COUNTERS; j++)
			values[1 + j] = Int64GetDatum((int64) pg_atomic_read_u64(&bc->slots[i].counters[j]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
