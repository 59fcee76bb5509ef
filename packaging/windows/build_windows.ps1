# Build the Windows installer: the PyInstaller one-folder bundle, trimmed, packed by Inno Setup into
#   build\DiffViews-Desktop-<version>-windows-x64-setup.exe
# Run from any folder:  pwsh packaging/windows/build_windows.ps1
# Environment: PYTHON, an environment with torch and the project (default: python on PATH).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
$py = if ($env:PYTHON) { $env:PYTHON } else { "python" }
function Invoke-Checked { & $args[0] @($args | Select-Object -Skip 1); if ($LASTEXITCODE) { throw "failed: $args" } }

Write-Host "== PyInstaller into $py's environment"
Invoke-Checked $py -m pip install -q -e ".[packaging]"
Write-Host "== this Python + PySide6 keep None and True alive"
$env:QT_QPA_PLATFORM = "offscreen"
Invoke-Checked $py packaging/check_refcounts.py
Remove-Item Env:QT_QPA_PLATFORM
Write-Host "== icons"
Invoke-Checked $py packaging/make_icons.py --out build/icons
Write-Host "== PyInstaller bundle"
Invoke-Checked $py -m PyInstaller packaging/diffviews-desktop.spec --noconfirm --log-level WARN `
  --distpath build/dist --workpath build/pyinstaller
$trim = @("packaging/trim_bundle.py", "build/dist/diffviews-desktop")
if ((& $py -c "import torch; print(torch.version.cuda is None)") -eq "True") { $trim += "--cpu-torch" }
Write-Host "== trimming the bundle"
Invoke-Checked $py @trim

$version = & $py -c "from importlib.metadata import version; print(version('diffviews-desktop'))"
$iscc = Get-Command iscc -ErrorAction SilentlyContinue
$iscc = if ($iscc) { $iscc.Source } else { Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe" }
Write-Host "== Inno Setup ($iscc)"
Invoke-Checked $iscc "/Q" "/DAppVersion=$version" "/DSourceDir=$PWD\build\dist\diffviews-desktop" `
  "/DIconFile=$PWD\build\icons\diffviews.ico" "/O$PWD\build" "packaging\windows\diffviews-desktop.iss"
Get-ChildItem build\DiffViews-Desktop-*-setup.exe | ForEach-Object { "   {0} ({1:N0} MB)" -f $_.Name, ($_.Length / 1MB) }
