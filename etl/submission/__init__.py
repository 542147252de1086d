"""Member submissions (DESIGN §4): template, reading, validation, loading and reports.

`load.load_files` / `load.validate_files` are the entry points used by the command line and the
admin page; `members.register` loads the members registry; `template.write_template` writes the
workbook a member fills; `report.render_html` renders the validation report.
"""
