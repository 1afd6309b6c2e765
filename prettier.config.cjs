// Prettier formats our XML (views, data). Used by the pre-commit hook.
module.exports = {
    plugins: [require.resolve("@prettier/plugin-xml")],
    printWidth: 100,
    tabWidth: 4,
    xmlWhitespaceSensitivity: "preserve",
    bracketSameLine: false,
};
