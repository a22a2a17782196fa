"""Contract folders and reporting tags: how staff organise corporate contracts."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Folders nest at most this deep, so one select_related loads any folder's whole path.
MAX_FOLDER_DEPTH = 5
FOLDER_ANCESTRY = "__".join(["parent"] * (MAX_FOLDER_DEPTH - 1))


class ContractFolder(models.Model):
    """A folder tree (at most MAX_FOLDER_DEPTH levels) to keep many contracts tidy."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent folder"),
    )

    class Meta:
        verbose_name = _("contract folder")
        verbose_name_plural = _("contract folders")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                name="folder_name_unique_in_parent",
                violation_error_message=_("A folder with this name already exists here."),
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(parent__isnull=True),
                name="folder_name_unique_at_root",
                violation_error_message=_("A top-level folder with this name already exists."),
            ),
        ]

    def __str__(self) -> str:
        # Walks up through `parent`; list pages select_related(FOLDER_ANCESTRY) so that
        # this costs no query.
        return " / ".join(folder.name for folder in self.ancestry())

    def ancestry(self) -> list[ContractFolder]:
        """Root first, this folder last."""
        chain, node, seen = [], self, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            chain.append(node)
            node = node.parent
        return chain[::-1]

    def clean(self) -> None:
        super().clean()
        if self.parent is None:
            return
        above = self.parent.ancestry()
        if self.pk and any(folder.pk == self.pk for folder in above):
            raise ValidationError(
                {"parent": _("A folder cannot be moved into itself or its subfolders.")}
            )
        if len(above) + 1 + self._subtree_height() > MAX_FOLDER_DEPTH:
            raise ValidationError(
                {"parent": _("Folders nest at most %(n)d levels deep.") % {"n": MAX_FOLDER_DEPTH}}
            )

    def _subtree_height(self) -> int:
        """Levels of subfolders below this one (0 for a new or leaf folder)."""
        level = [self.pk] if self.pk else []
        for height in range(MAX_FOLDER_DEPTH + 1):
            level = list(
                ContractFolder.objects.filter(parent__in=level).values_list("pk", flat=True)
            )
            if not level:
                return height
        return MAX_FOLDER_DEPTH


class ReportingTag(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("reporting tag")
        verbose_name_plural = _("reporting tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
