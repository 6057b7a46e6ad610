"""The URL a provider signed is rebuilt on the public base URL, not the socket's."""

from dlrhub.api.resources.callbacks import public_callback_url


def test_the_url_is_the_public_base_with_the_path_and_the_query_as_sent() -> None:
    url = public_callback_url("https://hub.example.com", "/v1/callbacks/twilio/tok",
                              "MessageSid=SM1&To=%2B1555")
    assert url == "https://hub.example.com/v1/callbacks/twilio/tok?MessageSid=SM1&To=%2B1555"


def test_no_query_means_no_question_mark() -> None:
    assert public_callback_url("http://127.0.0.1:8000", "/v1/callbacks/x/t", "") == \
        "http://127.0.0.1:8000/v1/callbacks/x/t"
