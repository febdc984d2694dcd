/*
 * test_watcher.c -- devserver/watcher.c and devserver/deps.c.
 *
 * watcher_coalesce is fed inotify event sequences recorded from real saves
 * (in place, sed -i, vim, emacs, JetBrains safe-write, a burst), and must
 * answer each saved path once and never a half-written one. deps_normalize
 * and deps_scan run on a temp tree. A last check drives real inotify through
 * watcher_init / watcher_pending / watcher_drain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../devserver/deps.h"
#include "../devserver/watcher.h"
#include "../runtime/apptree.h"
#include "t.h"

typedef struct ev {
	const char *path;
	uint32_t mask;
} ev;

/* Feeds a sequence; returns the set as "a,b,c" in order of first appearance. */
static char *
coalesce(const ev *evs, int n, char *out, size_t len)
{
	watcher_changes ch = {0};
	for (int i = 0; i < n; i++)
		watcher_coalesce(&ch, evs[i].path, evs[i].mask);
	out[0] = '\0';
	for (int i = 0; i < ch.n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", ch.paths[i]);
	watcher_changes_free(&ch);
	return out;
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The WATCHER_* flags the sequence leaves on `path`, or -1 if it is absent. */
static int
flags_of(const ev *evs, int n, const char *path)
{
	watcher_changes ch = {0};
	for (int i = 0; i < n; i++)
		watcher_coalesce(&ch, evs[i].path, evs[i].mask);
	int f = -1;
	for (int i = 0; i < ch.n; i++)
		if (strcmp(ch.paths[i], path) == 0)
			f = ch.flags[i];
	watcher_changes_free(&ch);
	return f;
}

/* What the events said decides between compile, wait and unload. */
static void
test_flags(void)
{
	static const ev vim_all[] = {
	        {"handlers/a.c", IN_MOVED_FROM},  {"handlers/a.c~", IN_MOVED_TO},
	        {"handlers/a.c", IN_CREATE},      {"handlers/a.c", IN_MODIFY},
	        {"handlers/a.c", IN_CLOSE_WRITE},
	};
	static const ev vim_half[] = {
	        {"handlers/a.c", IN_MOVED_FROM},
	        {"handlers/a.c~", IN_MOVED_TO},
	        {"handlers/a.c", IN_CREATE},
	        {"handlers/a.c", IN_MODIFY},
	};
	static const ev inplace[] = {
	        {"handlers/a.c", IN_MODIFY},
	        {"handlers/a.c", IN_CLOSE_WRITE},
	};
	static const ev rm[] = {{"handlers/a.c", IN_DELETE}};
	static const ev writing[] = {{"handlers/a.c", IN_CREATE}, {"handlers/a.c", IN_MODIFY}};
	T_CHECK("flags: a whole vim save is removed and complete",
	        flags_of(vim_all, N(vim_all), "handlers/a.c") ==
	                (WATCHER_REMOVED | WATCHER_COMPLETE));
	T_CHECK("flags: vim mid-save is removed only (the new file is being written)",
	        flags_of(vim_half, N(vim_half), "handlers/a.c") == WATCHER_REMOVED);
	T_CHECK("flags: an in-place save is complete",
	        flags_of(inplace, N(inplace), "handlers/a.c") == WATCHER_COMPLETE);
	T_CHECK("flags: rm is removed", flags_of(rm, N(rm), "handlers/a.c") == WATCHER_REMOVED);
	T_CHECK("flags: a file still being written is not in the set",
	        flags_of(writing, N(writing), "handlers/a.c") == -1);
}

static void
test_ignored(void)
{
	static const char *const yes[] = {
	        "handlers/.x.c.swp",
	        "handlers/.x.c.swx",
	        "handlers/.x.c.swo",
	        "handlers/x.c~",
	        "handlers/4913",
	        "handlers/#x.c#",
	        "handlers/.#x.c",
	        "handlers/x.c.tmp",
	        "handlers/x.c.bak",
	        "handlers/x.c.orig",
	        "handlers/x.c___jb_tmp___",
	        "handlers/x.c___jb_old___",
	        "handlers/.hidden.c",
	        "handlers/",
	        "static/app.css.bak",
	        "./static/.git/config",
	        "static/old~/app.css",
	};
	static const char *const no[] = {
	        "handlers/x.c",          "handlers/common.h",
	        "handlers/sub/notes.c",  "x.c",
	        "handlers/swp.c",        "handlers/49130.c",
	        "handlers/tmp/x.c",      "./handlers/x.c",
	        "../app/static/a~b.css",
	};
	for (int i = 0; i < N(yes); i++) {
		char name[128];
		snprintf(name, sizeof(name), "ignored: %s", yes[i]);
		T_CHECK(name, apptree_ignored(yes[i]));
	}
	for (int i = 0; i < N(no); i++) {
		char name[128];
		snprintf(name, sizeof(name), "not ignored: %s", no[i]);
		T_CHECK(name, !apptree_ignored(no[i]));
	}
}

static void
test_sequences(void)
{
	char out[1024];
	static const ev inplace[] = {
	        {"handlers/x.c", IN_OPEN},
	        {"handlers/x.c", IN_MODIFY},
	        {"handlers/x.c", IN_MODIFY},
	        {"handlers/x.c", IN_CLOSE_WRITE},
	};
	T_STREQ("in place: OPEN MODIFY MODIFY CLOSE_WRITE -> x.c once",
	        coalesce(inplace, N(inplace), out, sizeof(out)), "handlers/x.c");
	T_STREQ("in place, still writing (no CLOSE_WRITE yet) -> nothing",
	        coalesce(inplace, 3, out, sizeof(out)), "");

	static const ev created[] = {
	        {"handlers/new.c", IN_CREATE},
	        {"handlers/new.c", IN_OPEN},
	        {"handlers/new.c", IN_MODIFY},
	        {"handlers/new.c", IN_CLOSE_WRITE},
	};
	T_STREQ("a CREATE alone (size 0) -> nothing", coalesce(created, 1, out, sizeof(out)), "");
	T_STREQ("new file via > -> new.c once", coalesce(created, N(created), out, sizeof(out)),
	        "handlers/new.c");

	/* sed -i: temp sedXXXXXX, then rename over the target */
	static const ev sed[] = {
	        {"handlers/sedAb12Cd", IN_CREATE},      {"handlers/sedAb12Cd", IN_MODIFY},
	        {"handlers/sedAb12Cd", IN_CLOSE_WRITE}, {"handlers/sedAb12Cd", IN_MOVED_FROM},
	        {"handlers/x.c", IN_MOVED_TO},
	};
	coalesce(sed, N(sed), out, sizeof(out));
	T_CHECK("sed -i rename-over: x.c is in the set", strstr(out, "handlers/x.c") != NULL);
	T_CHECK("... once", strstr(out, "handlers/x.c") == strrchr(out, ',') + 1 ||
	                            strcmp(out, "handlers/x.c") == 0);

	/* vim (writebackup, backupcopy=no): probe 4913, x.c -> x.c~, write x.c, drop x.c~ */
	static const ev vim[] = {
	        {"handlers/4913", IN_CREATE},          {"handlers/4913", IN_OPEN},
	        {"handlers/4913", IN_CLOSE_WRITE},     {"handlers/4913", IN_DELETE},
	        {"handlers/x.c", IN_MOVED_FROM},       {"handlers/x.c~", IN_MOVED_TO},
	        {"handlers/x.c", IN_CREATE},           {"handlers/x.c", IN_OPEN},
	        {"handlers/x.c", IN_MODIFY},           {"handlers/x.c", IN_CLOSE_WRITE},
	        {"handlers/x.c~", IN_DELETE},          {"handlers/.x.c.swp", IN_MODIFY},
	        {"handlers/.x.c.swp", IN_CLOSE_WRITE},
	};
	T_STREQ("vim save -> x.c once, no 4913, x.c~ or .swp",
	        coalesce(vim, N(vim), out, sizeof(out)), "handlers/x.c");

	/* emacs: lock symlink .#x.c, backup x.c~ by rename, write x.c, autosave #x.c# gone */
	static const ev emacs[] = {
	        {"handlers/.#x.c", IN_CREATE},  {"handlers/x.c", IN_MOVED_FROM},
	        {"handlers/x.c~", IN_MOVED_TO}, {"handlers/x.c", IN_CREATE},
	        {"handlers/x.c", IN_MODIFY},    {"handlers/x.c", IN_CLOSE_WRITE},
	        {"handlers/#x.c#", IN_DELETE},  {"handlers/.#x.c", IN_DELETE},
	};
	T_STREQ("emacs save -> x.c once", coalesce(emacs, N(emacs), out, sizeof(out)),
	        "handlers/x.c");

	/* JetBrains safe write */
	static const ev jb[] = {
	        {"handlers/x.c___jb_tmp___", IN_CREATE},
	        {"handlers/x.c___jb_tmp___", IN_MODIFY},
	        {"handlers/x.c___jb_tmp___", IN_CLOSE_WRITE},
	        {"handlers/x.c", IN_MOVED_FROM},
	        {"handlers/x.c___jb_old___", IN_MOVED_TO},
	        {"handlers/x.c___jb_tmp___", IN_MOVED_FROM},
	        {"handlers/x.c", IN_MOVED_TO},
	        {"handlers/x.c___jb_old___", IN_DELETE},
	};
	T_STREQ("JetBrains safe write -> x.c once", coalesce(jb, N(jb), out, sizeof(out)),
	        "handlers/x.c");

	static const ev del[] = {{"handlers/gone.c", IN_DELETE}};
	T_STREQ("delete -> the path (the caller stats it and unloads)",
	        coalesce(del, 1, out, sizeof(out)), "handlers/gone.c");
	static const ev moved_away[] = {{"handlers/old.c", IN_MOVED_FROM}};
	T_STREQ("moved away -> the path", coalesce(moved_away, 1, out, sizeof(out)),
	        "handlers/old.c");
	static const ev dir[] = {{"handlers/sub", IN_CREATE | IN_ISDIR},
	                         {"handlers/sub", IN_DELETE | IN_ISDIR}};
	T_STREQ("directory events are not file changes", coalesce(dir, 2, out, sizeof(out)), "");

	/* a burst: git checkout of 10 files, each written twice, interleaved */
	ev burst[60];
	char names[10][32];
	int n = 0;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 10; i++) {
			snprintf(names[i], sizeof(names[i]), "handlers/f%d.c", i);
			burst[n++] = (ev){names[i], IN_OPEN};
			burst[n++] = (ev){names[i], IN_MODIFY};
			burst[n++] = (ev){names[i], IN_CLOSE_WRITE};
		}
	watcher_changes ch = {0};
	for (int i = 0; i < n; i++)
		watcher_coalesce(&ch, burst[i].path, burst[i].mask);
	bool each_once = ch.n == 10;
	for (int i = 0; i < ch.n && each_once; i++)
		each_once = strcmp(ch.paths[i], names[i]) == 0;
	T_CHECK("a burst of 60 events on 10 files -> each path once, in order", each_once);
	watcher_changes_free(&ch);
}

/* ==== deps ============================================================= */

static void
test_normalize(void)
{
	char out[256];
	T_CHECK("dir + name", deps_normalize("handlers", "common.h", out, sizeof(out)) == 0 &&
	                              strcmp(out, "handlers/common.h") == 0);
	T_CHECK(".. goes up", deps_normalize("handlers/sub", "../x.h", out, sizeof(out)) == 0 &&
	                              strcmp(out, "handlers/x.h") == 0);
	T_CHECK(". and doubled slashes vanish",
	        deps_normalize("handlers", "./a//./b.h", out, sizeof(out)) == 0 &&
	                strcmp(out, "handlers/a/b.h") == 0);
	T_CHECK("leaving the app directory is refused",
	        deps_normalize("handlers", "../../etc/passwd", out, sizeof(out)) != 0);
	T_CHECK("empty dir",
	        deps_normalize("", "x.h", out, sizeof(out)) == 0 && strcmp(out, "x.h") == 0);
	T_CHECK("a result too long for the buffer is refused",
	        deps_normalize("handlers", "abcdefghij.h", out, 8) != 0);
}

static int
write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(s, f);
	return fclose(f);
}

static void
test_scan(const char *root)
{
	char old[4096];
	if (getcwd(old, sizeof(old)) == NULL || chdir(root) != 0) {
		T_CHECK("chdir into the temp tree", false);
		return;
	}
	mkdir("handlers", 0755);
	mkdir("handlers/sub", 0755);
	write_file("handlers/a.c",
	           "#include <cot.h>\n"
	           "#include <stdio.h>\n"
	           "#include \"common.h\"\n"
	           "  #  include \"sub/b.h\"\n"
	           "#include \"missing.h\"\n"
	           "/* #include \"commented.h\" is still followed: one too many, never too few */\n"
	           "#ifdef NEVER\n#include \"cond.h\"\n#endif\n");
	write_file("handlers/common.h", "#define X 1\n");
	write_file("handlers/sub/b.h", "#include \"../common.h\"\n#include \"c.h\"\n");
	write_file("handlers/sub/c.h", "#include \"b.h\"\n"); /* a cycle */
	write_file("handlers/cond.h", "\n");
	write_file("handlers/lone.c", "int x;\n");
	deps_list d = {0};
	deps_scan("handlers/a.c", NULL, &d);
	T_CHECK("deps: the direct include", deps_contains(&d, "handlers/common.h"));
	T_CHECK("deps: a subdirectory include", deps_contains(&d, "handlers/sub/b.h"));
	T_CHECK("deps: transitive, resolved from the including file",
	        deps_contains(&d, "handlers/sub/c.h"));
	T_CHECK("deps: conditional includes count", deps_contains(&d, "handlers/cond.h"));
	T_CHECK("deps: missing files and <system> headers are not listed",
	        !deps_contains(&d, "handlers/missing.h") && !deps_contains(&d, "stdio.h") &&
	                !deps_contains(&d, "handlers/cot.h"));
	T_CHECK("deps: each file once despite the cycle", d.n == 4);
	deps_scan("handlers/lone.c", NULL, &d);
	T_CHECK("deps: rescanning replaces the list", d.n == 0);
	deps_free(&d);
	if (chdir(old) != 0)
		T_CHECK("chdir back", false);
}

/* ==== real inotify ===================================================== */

static void
test_inotify(const char *root)
{
	char old[4096], err[256];
	if (getcwd(old, sizeof(old)) == NULL || chdir(root) != 0)
		return;
	static const char *const dirs[] = {"handlers", NULL};
	T_CHECK("watcher_init on handlers/", watcher_init(dirs, NULL, err, sizeof(err)) == 0);
	T_CHECK("nothing pending at first", !watcher_pending());
	write_file("handlers/a.c", "int changed;\n");
	T_CHECK("an in-place save is pending right after close()", watcher_pending());
	watcher_changes ch = {0};
	watcher_drain(&ch);
	T_CHECK("drain yields handlers/a.c", ch.n == 1 && strcmp(ch.paths[0], "handlers/a.c") == 0);
	watcher_changes_free(&ch);
	T_CHECK("nothing pending after the drain", !watcher_pending());

	write_file("handlers/t.tmp", "int y;\n");
	rename("handlers/t.tmp", "handlers/sub/c.h");
	mkdir("handlers/newdir", 0755);
	write_file("handlers/newdir/n.c", "int n;\n");
	watcher_drain(&ch);
	bool c_h = false, n_c = false;
	for (int i = 0; i < ch.n; i++) {
		c_h |= strcmp(ch.paths[i], "handlers/sub/c.h") == 0;
		n_c |= strcmp(ch.paths[i], "handlers/newdir/n.c") == 0;
	}
	T_CHECK("rename-over into a subdirectory is seen", c_h);
	T_CHECK("a file in a directory created a moment ago is seen", n_c);
	watcher_changes_free(&ch);
	write_file("handlers/newdir/n.c", "int n2;\n");
	watcher_drain(&ch);
	T_CHECK("the new directory is watched from then on",
	        ch.n == 1 && strcmp(ch.paths[0], "handlers/newdir/n.c") == 0);
	watcher_changes_free(&ch);
	watcher_close();
	if (chdir(old) != 0)
		T_CHECK("chdir back", false);
}

static void
rmtree(const char *root)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (strncmp(root, "/tmp/", 5) == 0 && system(cmd) != 0)
		printf("# could not remove %s\n", root);
}

int
main(void)
{
	test_ignored();
	test_flags();
	test_sequences();
	test_normalize();
	char root[] = "/tmp/cot-watch-XXXXXX";
	if (mkdtemp(root) == NULL) {
		T_CHECK("mkdtemp", false);
		return T_DONE();
	}
	test_scan(root);
	test_inotify(root);
	rmtree(root);
	return T_DONE();
}
