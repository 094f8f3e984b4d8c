#!/usr/bin/env bash
# Registration and the dataset commands, as a user runs them, on every backend
# (PostgreSQL when scripts/test-postgres provides a server): the awkward-input corpus of
# tests/data/csv with its expected outcomes, a Kaggle folder, options and their errors,
# and list / info / search / update / stats / remove.
. "$(dirname "$0")/lib.sh"
CORPUS="$(cd "$(dirname "$0")/../data/csv" && pwd)"

backends="sqlite duckdb"
if [ -n "${MDM_TEST_PG_CONNINFO:-}" ]; then
  backends="$backends postgresql"
  export MDM_DATABASE_POSTGRESQL_HOST=$MDM_TEST_PG_HOST MDM_DATABASE_POSTGRESQL_PORT=$MDM_TEST_PG_PORT
  export MDM_DATABASE_POSTGRESQL_USER=$MDM_TEST_PG_USER MDM_DATABASE_POSTGRESQL_PASSWORD=$MDM_TEST_PG_PASSWORD
  export MDM_DATABASE_POSTGRESQL_DATABASE=$MDM_TEST_PG_DATABASE
  # Each run gets its own schema prefix: datasets of other runs never collide.
  export MDM_DATABASE_POSTGRESQL_DATABASE_PREFIX="e2e$$_"
fi

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$WORK/out" 2>/dev/null; }
nothing_left() { # name: no YAML, no directory, no staging
  [ ! -e "$MDM_HOME_DIR/config/datasets/$1.yaml" ] && [ ! -e "$MDM_HOME_DIR/datasets/$1" ] &&
    ! ls -a "$MDM_HOME_DIR/datasets" 2>/dev/null | grep -q "^.staging-$1-"
}

# A Kaggle competition folder.
KAGGLE="$WORK/kaggle"
mkdir -p "$KAGGLE"
python3 - "$KAGGLE" <<'PY'
import random, sys
d = sys.argv[1]; random.seed(7)
with open(f"{d}/train.csv", "w") as f:
    f.write("PassengerId,Survived,Pclass,Name,Age,Fare,Embarked\n")
    for i in range(1, 201):
        age = "" if i % 9 == 0 else str(random.randint(1, 80))
        f.write(f'{i},{random.randint(0,1)},{random.randint(1,3)},"Doe, J {i}",{age},{random.random()*90:.2f},{random.choice("SCQ")}\n')
with open(f"{d}/test.csv", "w") as f:
    f.write("PassengerId,Pclass,Name,Age,Fare,Embarked\n")
    for i in range(201, 301):
        f.write(f'{i},{random.randint(1,3)},Roe {i},{random.randint(1,80)},{random.random()*90:.2f},S\n')
with open(f"{d}/sample_submission.csv", "w") as f:
    f.write("PassengerId,Survived\n")
    for i in range(201, 301):
        f.write(f"{i},0\n")
with open(f"{d}/data_description.txt", "w") as f:
    f.write("a toy competition\n")
PY

# Types that only show after the first 100,000 rows (the sample types are inferred from):
# a float in an integer column, a column empty until then, dates that read under two
# layouts until a day past 12 settles it. And a ragged row past the sample.
python3 - "$WORK" <<'PY'
import sys
d = sys.argv[1]
with open(f"{d}/late.csv", "w") as f:
    f.write("id,x,sparse,d,word\n")
    for i in range(150000):
        x = "1.5" if i == 140000 else str(i)
        sparse = str(i * 7) if i >= 120000 else ""
        day = "13/02/2020" if i == 149999 else "01/02/2020"
        f.write(f"{i},{x},{sparse},{day},w{i % 5}\n")
with open(f"{d}/ragged_late.csv", "w") as f:
    f.write("a,b\n")
    for i in range(130000):
        f.write(f"{i},{i}\n" if i != 125000 else f"{i},{i},{i}\n")
PY
late_exact() { # export dir: every value of late.csv came back as written
  python3 - "$1/late_data.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 150000, len(rows)
for i, r in enumerate(rows):
    assert int(r["id"]) == i, r
    assert float(r["x"]) == (1.5 if i == 140000 else i), r
    assert r["sparse"] == (str(i * 7) if i >= 120000 else ""), r
    assert r["d"] == ("2020-02-13" if i == 149999 else "2020-02-01"), r
    assert r["word"] == f"w{i % 5}", r
PY
}

for backend in $backends; do
  export MDM_DATABASE_DEFAULT_BACKEND=$backend
  echo "== $backend" >&2

  # --- the corpus, file by file, with the outcome its manifest expects
  i=0
  while IFS=$'\t' read -r file expected notes; do
    [ "$file" = file ] && continue
    [ -f "$CORPUS/$file" ] || continue
    i=$((i + 1))
    name="c$i"
    run dataset register "$name" "$CORPUS/$file"
    case "$expected" in
      ok:*)
        if [ "$file" = cols3000.csv ] && [ "$backend" != duckdb ]; then
          check "$backend $file: over the column limit fails" status_is 1
          check "$backend $file: names the limit" contains "$ERR" "columns"
          check "$backend $file: suggests duckdb" contains "$ERR" "--backend duckdb"
          check "$backend $file: nothing left" nothing_left "$name"
          continue
        fi
        rows=$(printf '%s' "$expected" | sed -n 's/^ok: \([0-9]*\) rows.*/\1/p')
        check "$backend $file: registers" status_is 0
        run dataset info "$name" --format json
        check "$backend $file: $rows rows" json "assert d['metadata']['statistics']['row_count'] == $rows, d['metadata']['statistics']"
        run dataset remove "$name" --force
        check "$backend $file: removed" nothing_left "$name"
        ;;
      error:*)
        want=${expected#error: }
        check "$backend $file: fails" status_is 1
        check "$backend $file: says '$want'" contains "$ERR" "$want"
        check "$backend $file: one line" one_line "$ERR"
        check "$backend $file: nothing left" nothing_left "$name"
        ;;
    esac
  done <"$CORPUS/MANIFEST.tsv"

  # --- the first dataset of a fresh home (no datasets/ directory yet)
  MDM_HOME_DIR="$WORK/fresh-$backend" run dataset register first "$KAGGLE/train.csv"
  check "$backend first dataset in a fresh home" status_is 0
  MDM_HOME_DIR="$WORK/fresh-$backend" run dataset remove first --force

  # --- a Kaggle folder
  run dataset register Titanic "$KAGGLE" --description "toy" --tags a,b
  check "$backend kaggle registers" status_is 0
  check "$backend kaggle target from the submission" contains "$OUT" "Target:        Survived"
  check "$backend kaggle problem type" contains "$OUT" "binary_classification"
  check "$backend kaggle IDs" contains "$OUT" "ID Columns:    PassengerId"
  run dataset info titanic --format json
  check "$backend kaggle tables and rows" json "s=d['metadata']['statistics']; assert s['row_count']==300; assert list(d['tables'])==['train','test','sample_submission']"
  check "$backend kaggle records its backend" json "assert d['database']['backend']=='$backend'"
  check "$backend kaggle never stores a password" bash -c "! grep -rqi password '$MDM_HOME_DIR/config/datasets/titanic.yaml'"
  run dataset register TITANIC "$KAGGLE"
  check "$backend duplicate (case-insensitive) refused" contains "$ERR" "Dataset 'titanic' already exists"
  run dataset register titanic "$KAGGLE" --force --target Fare --problem-type regression
  check "$backend --force replaces" status_is 0
  check "$backend --target and --problem-type" contains "$OUT" "Problem Type:  regression"
  # --force with a file that cannot be read: the old dataset stays, whole and readable.
  printf 'a,b\n1,"open\n2,y\n' >"$WORK/unterminated.csv"
  run dataset register titanic "$WORK/unterminated.csv" --force
  check "$backend --force with a bad file fails" status_is 1
  check "$backend --force with a bad file says why" contains "$ERR" "unterminated"
  run dataset list --format json
  check "$backend --force with a bad file keeps the old dataset listed" json "assert [x['name'] for x in d]==['titanic']"
  run dataset stats titanic --full --format json
  check "$backend --force with a bad file keeps the old data" json "assert d['tables']['train']['row_count']==200 and d['tables']['test']['row_count']==100"
  check "$backend --force with a bad file leaves no staging or trash" bash -c "! ls -a '$MDM_HOME_DIR/datasets' | grep -q -e '^.staging-' -e '^.trash-'"
  run dataset list --format json
  check "$backend list json" json "assert [x['name'] for x in d]==['titanic']"
  run dataset list --filter "problem_type=regression"
  check "$backend list filter" contains "$OUT" "titanic"
  run dataset search tit
  check "$backend search" contains "$OUT" "Found 1 match(es)"
  run dataset update titanic --description "changed" --tags x
  run dataset info titanic --format json
  check "$backend update" json "assert d['description']=='changed' and d['tags']==['x']"
  run dataset stats titanic --full --format json
  check "$backend stats --full" json "assert d['mode']=='full' and d['tables']['train']['row_count']==200"
  run dataset stats titanic --export "$WORK/stats.yaml"
  check "$backend stats --export yaml" grep -q "dataset_name: titanic" "$WORK/stats.yaml"
  check "$backend stats --export yaml is the cached document" python3 -c "
import json, re, sys
cached = json.load(open('$MDM_HOME_DIR/datasets/titanic/metadata/statistics.json'))
text = open('$WORK/stats.yaml').read()
assert re.search('computed_at: .?' + re.escape(cached['computed_at']), text), cached['computed_at']
assert 'mode: full' in text"
  run dataset export titanic -o "$WORK/ex-$backend" -f csv -c none
  check "$backend export csv" [ -s "$WORK/ex-$backend/titanic_train.csv" ] && [ -s "$WORK/ex-$backend/titanic_metadata.json" ]
  check "$backend export keeps every row" [ "$(wc -l <"$WORK/ex-$backend/titanic_train.csv")" -eq 201 ]
  check "$backend export keeps quoted commas" grep -q '"Doe, J 7"' "$WORK/ex-$backend/titanic_train.csv"
  run dataset export titanic -o "$WORK/ex-$backend" -f parquet --table test
  check "$backend export parquet one table" [ -s "$WORK/ex-$backend/titanic_test.parquet" ]
  check "$backend export parquet: the zip default is not a warning" bash -c "! grep -q zip <<<'$ERR'"
  run dataset export titanic -o "$WORK/ex-$backend-z" -f parquet -c zip --table test
  check "$backend export parquet -c zip says snappy instead" contains "$ERR" "zip compression does not apply to Parquet files; using snappy"
  run dataset export titanic -o "$WORK/ex-$backend" -f json -c gzip --table train
  check "$backend export json.gz" bash -c "gunzip -c '$WORK/ex-$backend/titanic_train.json.gz' | python3 -c 'import json,sys; assert len(json.load(sys.stdin))==200'"
  run dataset export titanic -o "$WORK/ex-$backend" --metadata-only
  check "$backend export metadata only" status_is 0
  run dataset export titanic --table nope
  check "$backend export unknown table" contains "$ERR" "Table 'nope' not found in dataset"
  run dataset export titanic -f xml
  check "$backend export bad format" contains "$ERR" "Invalid format 'xml'. Must be one of: [csv, parquet, json]"
  run dataset export titanic -o "$WORK/ex-$backend-nh" -f csv -c none --no-header --table train
  check "$backend export --no-header" [ "$(wc -l <"$WORK/ex-$backend-nh/titanic_train.csv")" -eq 200 ]
  run dataset remove titanic --dry-run
  check "$backend remove --dry-run keeps it" [ -e "$MDM_HOME_DIR/config/datasets/titanic.yaml" ]
  run dataset remove titanic --force
  check "$backend remove" nothing_left titanic
  run dataset info titanic
  check "$backend info after remove fails" status_is 1

  # --- types settled after the sample
  run dataset register late "$WORK/late.csv"
  check "$backend late types register" status_is 0
  run dataset info late --format json
  check "$backend late types widen or settle" json "t={c['name']:c['type'] for c in d['metadata']['columns']['data']}; assert (t['x'],t['sparse'],t['d'])==('float64','int64','date'), t"
  run dataset export late -o "$WORK/late-$backend" -f csv -c none
  check "$backend late types: every value exact" late_exact "$WORK/late-$backend"
  run dataset remove late --force
  run dataset register ragged "$WORK/ragged_late.csv"
  check "$backend ragged row past the sample fails" contains "$ERR" "line 125002"
  check "$backend ragged row past the sample leaves nothing" nothing_left ragged

  # --- options and their errors
  run dataset register t1 "$KAGGLE/train.csv" --target nope
  check "$backend unknown target fails" contains "$ERR" "Target column 'nope' not found in table 'data'"
  check "$backend unknown target leaves nothing" nothing_left t1
  run dataset register t1 "$KAGGLE/train.csv" --problem-type ranking
  check "$backend bad problem type" contains "$ERR" "Invalid problem type 'ranking'"
  run dataset register t1 "$KAGGLE/train.csv" --id-columns Name,Nope
  check "$backend unknown id column" contains "$ERR" "ID column 'Nope' not found"
  run dataset register t1 "$WORK/missing"
  check "$backend missing path" contains "$ERR" "Path does not exist: $WORK/missing"
  mkdir -p "$WORK/empty"
  run dataset register t1 "$WORK/empty"
  check "$backend empty directory" contains "$ERR" "No data files found in $WORK/empty"
  run dataset register "bad name" "$KAGGLE"
  check "$backend bad name" contains "$ERR" "can only contain alphanumeric characters"
  run dataset register "" "$KAGGLE"
  check "$backend empty name" contains "$ERR" "Dataset name cannot be empty"
  run dataset register "$(printf 'x%.0s' $(seq 101))" "$KAGGLE"
  check "$backend long name" contains "$ERR" "cannot exceed 100 characters"
  printf 'a,b\n1,2\n' >"$WORK/sheet.xlsx"
  run dataset register t1 "$WORK/sheet.xlsx"
  check "$backend excel refused" contains "$ERR" "Excel files are not supported"
  run dataset register my-data "$KAGGLE/train.csv" --id-columns PassengerId --time-column Age
  check "$backend dashes become underscores" contains "$OUT" "'my_data' registered"
  run dataset info MY-DATA --format json
  check "$backend names are case-insensitive everywhere" json "assert d['time_column']=='Age' and d['id_columns']==['PassengerId']"
  run dataset remove my_data --force

  # --- the options the old tool listed but never built
  run dataset register dry "$KAGGLE" --dry-run
  check "$backend --dry-run exits 0" status_is 0
  check "$backend --dry-run shows the result" contains "$OUT" "Target:        Survived"
  check "$backend --dry-run registers nothing" nothing_left dry
  run dataset register ig "$KAGGLE/train.csv" --ignore-columns name,EMBARKED --stratify-column Pclass --source "kaggle toy"
  check "$backend --ignore-columns etc." status_is 0
  run dataset info ig --format json
  check "$backend ignored columns are left out" json "cols=[c['name'] for c in d['metadata']['columns']['data']]; assert 'Name' not in cols and 'Embarked' not in cols and 'Fare' in cols"
  check "$backend --stratify-column and --source recorded" json "assert d['stratify_column']=='Pclass' and d['source']=='kaggle toy'"
  run dataset register ig2 "$KAGGLE/train.csv" --ignore-columns nope
  check "$backend unknown ignored column" contains "$ERR" "--ignore-columns: column 'nope' is in no table"
  run dataset register man --no-auto --train "$KAGGLE/train.csv" --test "$KAGGLE/test.csv" --target Survived
  check "$backend --no-auto" contains "$OUT" "Tables:        train, test"
  run dataset register man2 --no-auto --train "$KAGGLE/train.csv"
  check "$backend --no-auto needs --target" contains "$ERR" "--no-auto needs --train and --target"
  run dataset register man3 "$KAGGLE" --no-auto --train "$KAGGLE/train.csv" --target Survived
  check "$backend --no-auto refuses PATH" contains "$ERR" "PATH is not allowed"
  run dataset register sk "$KAGGLE" --skip-analysis
  check "$backend --skip-analysis registers" status_is 0
  check "$backend --skip-analysis detects no problem type" contains "$OUT" "Problem Type:  -"
  run dataset stats sk --format json
  check "$backend stats after --skip-analysis computes them" json "assert d['tables']['train']['row_count']==200"
  run batch remove ig man sk --force

  # --- batch over several datasets; unknown names warn and count as failed
  run dataset register b1 "$KAGGLE/train.csv"
  run dataset register b2 "$KAGGLE/test.csv"
  run batch stats b1 b2 nope --export "$WORK/batch"
  check "$backend batch stats exits 0" status_is 0
  check "$backend batch stats summary" contains "$OUT" "Summary: 2 succeeded, 1 failed"
  check "$backend batch stats exports" [ -s "$WORK/batch/b1_stats.json" ] && [ -s "$WORK/batch/b2_stats.json" ]
  check "$backend batch warns on unknown" contains "$ERR" "dataset 'nope' not found"
  run batch remove b1 b2 --dry-run
  check "$backend batch remove --dry-run" [ -e "$MDM_HOME_DIR/config/datasets/b1.yaml" ]
  run batch remove b1 b2 --force
  check "$backend batch remove" nothing_left b1
  check "$backend batch remove (2)" nothing_left b2
done

finish
