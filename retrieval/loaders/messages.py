"""Admin-facing loader error messages, in Chinese and English, kept in one place.

Every ``LoaderError`` names the file first and then one of these reasons, so an admin who
uploads a batch can see at once which file failed and what to do about it.
"""

from __future__ import annotations

from pathlib import Path

from retrieval.types import LoaderError

UNSUPPORTED_SUFFIX = "不支持的文件类型“{suffix}”，支持：{supported} / unsupported file type {suffix!r}"
NOT_A_FILE = "文件不存在或不是普通文件 / file does not exist or is not a regular file"
UNREADABLE = "文件无法读取（{error}）/ file cannot be read ({error})"
NOT_UTF8 = "文件不是UTF-8编码文本，请另存为UTF-8 / file is not UTF-8 text, save it as UTF-8"
BINARY = "文件内容是二进制数据而不是文本 / file holds binary data, not text"
EMPTY = "文件没有可索引的正文 / file has no text to index"
FRONT_MATTER_UNCLOSED = "YAML文件头没有结束标记“---” / YAML front matter is not closed with '---'"
INVALID_YAML = "YAML格式错误：{error} / invalid YAML: {error}"
NOT_A_MAPPING = "YAML内容必须是键值映射 / YAML content must be a mapping"
BAD_FIELD = "字段“{field}”的值无效：{error} / invalid value for field {field!r}: {error}"
INVALID_GUIDE = "办事指南字段校验失败：{error} / service guide failed validation: {error}"
PDF_UNREADABLE = "PDF文件损坏或无法解析（{error}）/ PDF is damaged or cannot be parsed ({error})"
PDF_ENCRYPTED = "PDF已加密，请提供未加密的文件 / PDF is encrypted, provide an unencrypted file"
PDF_NO_TEXT = (
    "PDF中没有可提取的文字，可能是扫描件或图片，请先做文字识别（OCR）"
    " / PDF has no extractable text (scanned or image-only?), run OCR first"
)
DOCX_UNREADABLE = "Word文件损坏或不是.docx格式（{error}）/ Word file is damaged or not a .docx ({error})"
HTML_UNREADABLE = "网页文件无法解析（{error}）/ HTML cannot be parsed ({error})"


def loader_error(path: Path | str, reason: str) -> LoaderError:
    """Build the error an admin sees: ``<file>: <reason>``."""
    return LoaderError(f"{path}: {reason}")
