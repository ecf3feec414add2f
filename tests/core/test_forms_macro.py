"""The form field macro: errors tied to their field, no empty ARIA attributes."""

def test_field_macro_ties_errors_to_fields_and_writes_no_empty_aria(app, client, make_user, login):
    login(make_user("admin"))
    html = client.get("/org/branches/new").get_data(as_text=True)
    assert '"None"' not in html and "=None" not in html
    r = client.post("/org/branches/new", data={"code": "", "name": ""})
    html = r.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and 'aria-describedby="code-error"' in html
