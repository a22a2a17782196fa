"""The database refuses changes to issued invoices (PostgreSQL triggers).

An issued invoice (status other than draft) may still change its payment state
(`status` among open/paid/overdue/void, `amount_paid`, `paid_at`) and get its stored PDF
once (`pdf` from empty); anything else, going back to draft, and deleting it are refused,
as are inserting, changing or deleting lines of an issued invoice. New columns are
immutable by default (the comparison is over the whole row). The error is SQLSTATE 23000,
which Django raises as IntegrityError.

SQLite (the quick local demo) gets no triggers; production and the tests run PostgreSQL.
Also: the staff roles pick up billing's permissions.
"""

from django.db import migrations

from subscriptions.roles import sync_staff_roles

MUTABLE = "ARRAY['status', 'amount_paid', 'paid_at', 'pdf']"

FORWARD = f"""
CREATE FUNCTION billing_invoice_immutable() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'draft' THEN
      RAISE EXCEPTION 'Invoice % is issued and cannot be deleted.', OLD.number
        USING ERRCODE = '23000';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status <> 'draft' AND (
      NEW.status = 'draft'
      OR (to_jsonb(NEW) - {MUTABLE}) IS DISTINCT FROM (to_jsonb(OLD) - {MUTABLE})
      OR (OLD.pdf <> '' AND NEW.pdf IS DISTINCT FROM OLD.pdf)
  ) THEN
    RAISE EXCEPTION 'Invoice % is issued and cannot be changed; issue a credit note.',
      OLD.number USING ERRCODE = '23000';
  END IF;
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_immutable
  BEFORE UPDATE OR DELETE ON billing_invoice
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_immutable();

CREATE FUNCTION billing_invoiceline_immutable() RETURNS trigger AS $$
DECLARE
  invoice_status text;
BEGIN
  SELECT status INTO invoice_status FROM billing_invoice
    WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.invoice_id ELSE OLD.invoice_id END;
  IF invoice_status IS NOT NULL AND invoice_status <> 'draft' THEN
    RAISE EXCEPTION 'The lines of an issued invoice cannot be changed; issue a credit note.'
      USING ERRCODE = '23000';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_immutable
  BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
  FOR EACH ROW EXECUTE FUNCTION billing_invoiceline_immutable();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS billing_invoiceline_immutable ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoiceline_immutable();
DROP TRIGGER IF EXISTS billing_invoice_immutable ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_immutable();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


def sync_roles(apps, schema_editor):
    sync_staff_roles(apps)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_invoices")]
    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
