def test_admin_login_page_is_served(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
