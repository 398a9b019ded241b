# Man pages: scdoc sources (man/*.scd, a small markup Debian packages) rendered into build/man/.
# The date in the page header is SOURCE_DATE_EPOCH's (mk/toolchain.mk): the same commit gives
# the same bytes. tests/unit/man-drift.sh checks the pages against the programs' own tables.
MAN_SRCS := $(wildcard man/*.scd)
MAN_PAGES := $(patsubst man/%.scd,$(BUILD)/man/%,$(MAN_SRCS))

$(BUILD)/man/%: man/%.scd VERSION
	@mkdir -p $(@D)
	sed 's/@VERSION@/$(VERSION)/' $< | scdoc >$@.tmp && mv $@.tmp $@

.PHONY: man install-man
man: $(MAN_PAGES)

install-man: $(MAN_PAGES)
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(PREFIX)/share/man/man8/

# tests/unit/man-drift.sh checks the rendered pages too.
test-deps: man
