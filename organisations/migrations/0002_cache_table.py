"""The database cache's table (``patchbay_cache``): the rate limits' shared store when no
``REDIS_URL`` is set (core/ratelimit.py). Made here so that ``migrate`` is all any
environment needs — ``make run``, the tests, CI and production alike."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "patchbay_cache"


def create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("organisations", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
