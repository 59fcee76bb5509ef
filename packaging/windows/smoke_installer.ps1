# Smoke-test the Windows installer as a user gets it: silent per-user install, the demo window rendered to a PNG
# (Mesa's software OpenGL that PySide6 ships, since CI machines have no GPU driver), an image generated with the
# bundled CLI, both PNGs checked, then a silent uninstall that must leave the folder gone.
#   pwsh packaging/windows/smoke_installer.ps1 build\DiffViews-Desktop-<version>-windows-x64-setup.exe
param([Parameter(Mandatory = $true)][string]$Setup)
$ErrorActionPreference = "Stop"
$py = if ($env:PYTHON) { $env:PYTHON } else { "python" }
$work = Join-Path ([System.IO.Path]::GetTempPath()) ("diffviews-smoke-" + [guid]::NewGuid())
$dir = Join-Path $work "DiffViews Desktop"
New-Item -ItemType Directory $work | Out-Null

function Start-Checked([string]$File, [string[]]$Arguments) {
  $p = Start-Process -FilePath $File -ArgumentList $Arguments -Wait -PassThru -NoNewWindow
  if ($p.ExitCode) { throw "$File exited with $($p.ExitCode)" }
}

Start-Checked (Resolve-Path $Setup) @("/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", "/CURRENTUSER", "/DIR=`"$dir`"")
$env:QT_OPENGL = "software"
Start-Checked (Join-Path $dir "diffviews-desktop.exe") @("--screenshot", "`"$work\window.png`"")
Start-Checked (Join-Path $dir "diffviews.exe") @("generate", "--demo", "--class", "1", "--steps", "8", "--seed", "3", "--out", "`"$work\generated.png`"")
& $py -c @"
import sys
import numpy as np
from PIL import Image
window, generated = (np.asarray(Image.open(p).convert('L'), dtype=float) for p in sys.argv[1:])
assert window.shape[0] >= 400 and window.std() > 10, window.shape
assert generated.shape == (32, 32) and generated.std() > 10, generated.shape
print(f'smoke test passed: window {window.shape[1]}x{window.shape[0]} px, generated 32x32 px')
"@ "$work\window.png" "$work\generated.png"
if ($LASTEXITCODE) { throw "PNG check failed" }
Start-Checked (Join-Path $dir "unins000.exe") @("/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART")
# The uninstaller removes itself a moment after it exits; wait for it (bounded) before checking.
for ($i = 0; $i -lt 30 -and (Test-Path (Join-Path $dir "diffviews-desktop.exe")); $i++) { Start-Sleep 1 }
if (Test-Path (Join-Path $dir "diffviews-desktop.exe")) { throw "uninstall left $dir behind" }
Write-Host "uninstalled cleanly"
